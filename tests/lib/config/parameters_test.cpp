// Tests for lib/config/parameters.cpp: the table is well formed (sorted, bounds, units, choices), every
// name is found, and man/man5/postern.cf.5 has exactly one entry per parameter showing the
// table's default (so the man page cannot drift from the code).
#include "lib/config/parameters.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>

namespace postern {
namespace {

std::string source_root() {
  std::string file = __FILE__;
  const std::string tail = "tests/lib/config/parameters_test.cpp";
  EXPECT_GE(file.size(), tail.size());
  EXPECT_EQ(file.substr(file.size() - tail.size()), tail);
  return file.substr(0, file.size() - tail.size());
}

TEST(Parameters, TableIsWellFormed) {
  std::span<const ParamSpec> table = all_parameters();
  ASSERT_GE(table.size(), 60u);
  for (size_t i = 0; i < table.size(); ++i) {
    const ParamSpec& spec = table[i];
    SCOPED_TRACE(std::string(spec.name));
    if (i > 0) {
      EXPECT_LT(table[i - 1].name, spec.name);
    }
    EXPECT_EQ(find_parameter(spec.name), &spec);
    EXPECT_LE(spec.min, spec.max);
    if (spec.type == ParamType::kTime) {
      EXPECT_NE(std::string_view("smhdw").find(spec.default_time_unit), std::string_view::npos);
    }
    if (!spec.choices.empty()) {
      EXPECT_TRUE(spec.type == ParamType::kString || spec.type == ParamType::kList);
    }
    if (spec.computed_default) {
      EXPECT_EQ(spec.type, ParamType::kString);
    }
    // Lower case, as Postfix's names are, except the few it spells with capitals
    // (smtp_tls_CAfile); those keep Postfix's spelling so that a copied main.cf works.
    for (char c : spec.name) {
      EXPECT_TRUE((c >= 'a' && c <= 'z') || c == '_' || (c >= '0' && c <= '9') ||
                  spec.name == "smtp_tls_CAfile");
    }
  }
}

TEST(Parameters, LookupOfUnknownNames) {
  EXPECT_EQ(find_parameter(""), nullptr);
  EXPECT_EQ(find_parameter("no_such_parameter"), nullptr);
  EXPECT_EQ(find_parameter("MYHOSTNAME"), nullptr);  // names are case-sensitive, as in Postfix
  EXPECT_EQ(find_parameter("myhostnam"), nullptr);
  EXPECT_EQ(find_parameter("myhostnamee"), nullptr);
  const ParamSpec* spec = find_parameter("message_size_limit");
  ASSERT_NE(spec, nullptr);
  EXPECT_EQ(spec->type, ParamType::kSize);
  EXPECT_EQ(spec->default_value, "10240000");
  EXPECT_EQ(param_type_name(ParamType::kTime), "time");
}

TEST(Parameters, EveryParameterHasAManPageEntryWithItsDefault) {
  std::string path = source_root() + "man/man5/postern.cf.5";
  std::ifstream in(path);
  ASSERT_TRUE(in) << path;
  std::stringstream text;
  text << in.rdbuf();
  // Entries look like: \fBname\fR (default: \fIvalue\fR)
  std::regex entry(R"(\\fB([A-Za-z0-9_]+)\\fR \(default: \\fI(.*)\\fR\))");
  std::map<std::string, std::string> documented;
  std::string body = text.str();
  for (auto it = std::sregex_iterator(body.begin(), body.end(), entry);
       it != std::sregex_iterator(); ++it) {
    std::string name = (*it)[1];
    std::string shown = (*it)[2];
    shown = std::regex_replace(shown, std::regex(R"(\\-)"), "-");
    EXPECT_TRUE(documented.emplace(name, shown).second) << "two entries for " << name;
  }
  for (const ParamSpec& spec : all_parameters()) {
    std::string name(spec.name);
    auto it = documented.find(name);
    if (it == documented.end()) {
      ADD_FAILURE() << "no man page entry for " << name;
      continue;
    }
    std::string expected = spec.default_value.empty() ? "empty" : std::string(spec.default_value);
    EXPECT_EQ(it->second, expected) << name;
    documented.erase(it);
  }
  for (const auto& [name, shown] : documented) {
    ADD_FAILURE() << "man page documents " << name << ", which is not a parameter";
  }
}

}  // namespace
}  // namespace postern
