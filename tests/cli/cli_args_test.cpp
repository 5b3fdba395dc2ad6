// cli/cli_args: options and operands of the subcommands.
#include "cli/cli_args.hpp"

#include <gtest/gtest.h>

namespace postern::cli {
namespace {

const std::vector<OptionSpec> kSpec = {
    {"--json"}, {"-n"}, {"--domain", true, true}, {"--from", true}};

TEST(CliArgs, OperandsAndFlags) {
  Result<ParsedArgs> parsed = parse_args({"list", "--json", "x"}, kSpec);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->operands, (std::vector<std::string>{"list", "x"}));
  EXPECT_TRUE(parsed->has("--json"));
  EXPECT_FALSE(parsed->has("-n"));
  EXPECT_EQ(parsed->value("--from"), std::nullopt);
}

TEST(CliArgs, ValuesSeparateOrInline) {
  Result<ParsedArgs> parsed =
      parse_args({"--domain", "a.example", "--domain=b.example", "--from=x@y"}, kSpec);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->values("--domain"), (std::vector<std::string>{"a.example", "b.example"}));
  EXPECT_EQ(parsed->value("--from"), "x@y");
  EXPECT_TRUE(parsed->values("--json").empty());
}

TEST(CliArgs, DoubleDashEndsOptions) {
  Result<ParsedArgs> parsed = parse_args({"--", "--json", "-n"}, kSpec);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->operands, (std::vector<std::string>{"--json", "-n"}));
  EXPECT_FALSE(parsed->has("--json"));
}

TEST(CliArgs, LoneDashIsAnOperand) {
  Result<ParsedArgs> parsed = parse_args({"-"}, kSpec);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->operands, (std::vector<std::string>{"-"}));
}

TEST(CliArgs, UsageErrors) {
  EXPECT_EQ(parse_args({"--nope"}, kSpec).error().message, "unknown option --nope");
  EXPECT_EQ(parse_args({"--from"}, kSpec).error().message, "--from needs a value");
  EXPECT_EQ(parse_args({"--from", "a", "--from", "b"}, kSpec).error().message,
            "--from given twice");
  EXPECT_EQ(parse_args({"--json=yes"}, kSpec).error().message, "--json takes no value");
  EXPECT_FALSE(parse_args({"-x"}, kSpec));
}

}  // namespace
}  // namespace postern::cli
