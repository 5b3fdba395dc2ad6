// Unit tests for lib/net/dns_cache.cpp on an injected clock: a hit while the TTL lasts and a miss
// once it has run out, the TTL ceiling, negative caching of NXDOMAIN and NODATA, nothing kept for
// failures or TTL 0, keys that ignore case and the trailing dot, eviction of the oldest entry
// at max_entries, the answer size bound at N and N+1, and one cache used from 4 threads at once.
#include "lib/net/dns_cache.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "lib/net/dns_message.hpp"

namespace postern {
namespace {

DnsAnswer ok_answer(std::vector<std::string> values, uint32_t ttl) {
  DnsAnswer answer;
  answer.status = DnsLookupStatus::kOk;
  answer.values = std::move(values);
  answer.ttl_seconds = ttl;
  return answer;
}

DnsAnswer status_answer(DnsLookupStatus status) {
  DnsAnswer answer;
  answer.status = status;
  answer.reason = "why";
  return answer;
}

class DnsCacheTest : public ::testing::Test {
 protected:
  DnsCacheOptions options(size_t max_entries = 100) {
    DnsCacheOptions o;
    o.max_entries = max_entries;
    o.max_ttl_seconds = 3600;
    o.negative_ttl_seconds = 60;
    o.now_ms = [this] { return now_ms_; };
    return o;
  }
  int64_t now_ms_ = 1'000'000;
};

TEST_F(DnsCacheTest, HitWhileTheTtlLastsThenExpiry) {
  DnsCache cache(options());
  EXPECT_FALSE(cache.find("example.test", kDnsTypeTxt).has_value());
  cache.store("example.test", kDnsTypeTxt, ok_answer({"v=spf1 -all"}, 300));
  now_ms_ += 100'500;
  std::optional<DnsAnswer> hit = cache.find("example.test", kDnsTypeTxt);
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->status, DnsLookupStatus::kOk);
  EXPECT_EQ(hit->values, std::vector<std::string>{"v=spf1 -all"});
  EXPECT_EQ(hit->ttl_seconds, 199u);  // what is left, in whole seconds
  now_ms_ += 199'499;                 // 1 ms before the end
  EXPECT_TRUE(cache.find("example.test", kDnsTypeTxt).has_value());
  now_ms_ += 1;  // the end
  EXPECT_FALSE(cache.find("example.test", kDnsTypeTxt).has_value());
  EXPECT_EQ(cache.size(), 0u);  // an expired entry is dropped when found
  DnsCache::Counters counters = cache.counters();
  EXPECT_EQ(counters.hits, 2u);
  EXPECT_EQ(counters.misses, 2u);
  EXPECT_EQ(counters.stored, 1u);
}

TEST_F(DnsCacheTest, KeyIgnoresCaseAndTrailingDotButNotType) {
  DnsCache cache(options());
  cache.store("Example.TEST.", kDnsTypeA, ok_answer({"192.0.2.1"}, 300));
  EXPECT_TRUE(cache.find("example.test", kDnsTypeA).has_value());
  EXPECT_TRUE(cache.find("EXAMPLE.test.", kDnsTypeA).has_value());
  EXPECT_FALSE(cache.find("example.test", kDnsTypeAaaa).has_value());
  EXPECT_FALSE(cache.find("www.example.test", kDnsTypeA).has_value());
}

TEST_F(DnsCacheTest, TtlCeiling) {
  DnsCacheOptions o = options();
  o.max_ttl_seconds = 600;
  DnsCache cache(o);
  cache.store("long.test", kDnsTypeTxt, ok_answer({"x"}, 86400));
  std::optional<DnsAnswer> hit = cache.find("long.test", kDnsTypeTxt);
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->ttl_seconds, 600u);
  now_ms_ += 599'999;
  EXPECT_TRUE(cache.find("long.test", kDnsTypeTxt).has_value());
  now_ms_ += 1;
  EXPECT_FALSE(cache.find("long.test", kDnsTypeTxt).has_value());
  // Under the ceiling the answer's own TTL rules.
  cache.store("short.test", kDnsTypeTxt, ok_answer({"x"}, 5));
  now_ms_ += 5'000;
  EXPECT_FALSE(cache.find("short.test", kDnsTypeTxt).has_value());
}

TEST_F(DnsCacheTest, NegativeAnswersForTheNegativeTime) {
  DnsCache cache(options());
  cache.store("gone.test", kDnsTypeTxt, status_answer(DnsLookupStatus::kNxDomain));
  cache.store("nodata.test", kDnsTypeTxt, ok_answer({}, 0));  // NODATA: no TTL of its own
  std::optional<DnsAnswer> gone = cache.find("gone.test", kDnsTypeTxt);
  ASSERT_TRUE(gone.has_value());
  EXPECT_EQ(gone->status, DnsLookupStatus::kNxDomain);
  EXPECT_EQ(gone->ttl_seconds, 60u);
  std::optional<DnsAnswer> nodata = cache.find("nodata.test", kDnsTypeTxt);
  ASSERT_TRUE(nodata.has_value());
  EXPECT_EQ(nodata->status, DnsLookupStatus::kOk);
  EXPECT_TRUE(nodata->values.empty());
  now_ms_ += 59'999;
  EXPECT_TRUE(cache.find("gone.test", kDnsTypeTxt).has_value());
  now_ms_ += 1;
  EXPECT_FALSE(cache.find("gone.test", kDnsTypeTxt).has_value());
  EXPECT_FALSE(cache.find("nodata.test", kDnsTypeTxt).has_value());
  // The ceiling bounds the negative time too.
  DnsCacheOptions o = options();
  o.negative_ttl_seconds = 900;
  o.max_ttl_seconds = 30;
  DnsCache capped(o);
  capped.store("gone.test", kDnsTypeA, status_answer(DnsLookupStatus::kNxDomain));
  EXPECT_EQ(capped.find("gone.test", kDnsTypeA)->ttl_seconds, 30u);
}

TEST_F(DnsCacheTest, FailuresAndTtlZeroAreNotKept) {
  DnsCache cache(options());
  cache.store("temp.test", kDnsTypeTxt, status_answer(DnsLookupStatus::kTemporary));
  cache.store("bad.test", kDnsTypeTxt, status_answer(DnsLookupStatus::kMalformed));
  cache.store("zero.test", kDnsTypeTxt, ok_answer({"x"}, 0));
  EXPECT_FALSE(cache.find("temp.test", kDnsTypeTxt).has_value());
  EXPECT_FALSE(cache.find("bad.test", kDnsTypeTxt).has_value());
  EXPECT_FALSE(cache.find("zero.test", kDnsTypeTxt).has_value());
  EXPECT_EQ(cache.size(), 0u);
  // A later failure does not replace a good answer either.
  cache.store("good.test", kDnsTypeTxt, ok_answer({"kept"}, 300));
  cache.store("good.test", kDnsTypeTxt, status_answer(DnsLookupStatus::kTemporary));
  ASSERT_TRUE(cache.find("good.test", kDnsTypeTxt).has_value());
  EXPECT_EQ(cache.find("good.test", kDnsTypeTxt)->values, std::vector<std::string>{"kept"});
}

TEST_F(DnsCacheTest, OldestStoredIsEvictedAtMaxEntries) {
  DnsCache cache(options(3));
  cache.store("one.test", kDnsTypeA, ok_answer({"192.0.2.1"}, 300));
  cache.store("two.test", kDnsTypeA, ok_answer({"192.0.2.2"}, 300));
  cache.store("three.test", kDnsTypeA, ok_answer({"192.0.2.3"}, 300));
  EXPECT_EQ(cache.size(), 3u);
  // Storing "one" again makes it the newest: "two" is now the oldest.
  cache.store("one.test", kDnsTypeA, ok_answer({"192.0.2.11"}, 300));
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_EQ(cache.counters().evicted, 0u);
  cache.store("four.test", kDnsTypeA, ok_answer({"192.0.2.4"}, 300));
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_EQ(cache.counters().evicted, 1u);
  EXPECT_FALSE(cache.find("two.test", kDnsTypeA).has_value());
  EXPECT_EQ(cache.find("one.test", kDnsTypeA)->values, std::vector<std::string>{"192.0.2.11"});
  EXPECT_TRUE(cache.find("three.test", kDnsTypeA).has_value());
  EXPECT_TRUE(cache.find("four.test", kDnsTypeA).has_value());
  cache.clear();
  EXPECT_EQ(cache.size(), 0u);
}

TEST_F(DnsCacheTest, AnswerSizeLimitAtNAndNPlusOne) {
  DnsCacheOptions o = options();
  o.max_answer_bytes = 1000;
  DnsCache cache(o);
  cache.store("at.test", kDnsTypeTxt,
              ok_answer({std::string(600, 'a'), std::string(400, 'b')}, 60));
  cache.store("over.test", kDnsTypeTxt,
              ok_answer({std::string(600, 'a'), std::string(401, 'b')}, 60));
  EXPECT_TRUE(cache.find("at.test", kDnsTypeTxt).has_value());
  EXPECT_FALSE(cache.find("over.test", kDnsTypeTxt).has_value());
}

TEST(DnsCacheThreads, FourThreadsShareOneCache) {
  // The real clock; TTLs far longer than the test. Each thread stores and finds names of its
  // own and names all threads share, over a cache small enough to evict all the time.
  DnsCacheOptions o;
  o.max_entries = 64;
  DnsCache cache(o);
  constexpr int kThreads = 4;
  constexpr int kRounds = 5000;
  std::atomic<int> wrong{0};
  std::atomic<uint64_t> finds{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRounds; ++i) {
        std::string own = "t" + std::to_string(t) + "-" + std::to_string(i % 50) + ".test";
        std::string shared = "shared-" + std::to_string(i % 20) + ".test";
        cache.store(own, kDnsTypeA, ok_answer({own}, 3600));
        cache.store(shared, kDnsTypeTxt, ok_answer({shared}, 3600));
        for (const std::string& name : {own, shared}) {
          uint16_t type = name == own ? kDnsTypeA : kDnsTypeTxt;
          std::optional<DnsAnswer> hit = cache.find(name, type);
          ++finds;
          // Whatever survived eviction must be this name's own answer.
          if (hit && hit->values != std::vector<std::string>{name}) ++wrong;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_LE(cache.size(), 64u);
  DnsCache::Counters counters = cache.counters();
  EXPECT_EQ(counters.hits + counters.misses, finds.load());
  EXPECT_EQ(counters.stored, static_cast<uint64_t>(2 * kThreads * kRounds));
  EXPECT_GT(counters.hits, 0u);
  EXPECT_GT(counters.evicted, 0u);
}

}  // namespace
}  // namespace postern
