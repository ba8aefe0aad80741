// The librdkafka settings a client fixes or only defaults (src/kafka/client.h, apply_settings), and
// the ledger node and the event producer refusing a KafkaConfig::extra (--kafka-set) entry that
// names a setting they fix. No broker: both refuse before they connect.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <map>
#include <string>

#include "govcredit/kafka.h"
#include "kafka/client.h"
#include "support/support.h"

namespace govcredit {
namespace {

using kafka_internal::apply_settings;
using kafka_internal::make_conf;

std::string get(rd_kafka_conf_t* conf, const char* name) {
  char value[512];
  size_t size = sizeof value;
  if (rd_kafka_conf_get(conf, name, value, &size) != RD_KAFKA_CONF_OK) return "(unknown)";
  return value;
}

bool exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// A make_conf configuration with `extra` (one name=value) applied, then the test client's
// settings: enable.idempotence fixed, linger.ms and message.timeout.ms defaults.
struct Applied {
  kafka_internal::ConfPtr conf;
  Status status;
};
Applied apply_test_client(const char* name, const char* value) {
  KafkaConfig k;
  k.extra[name] = value;
  auto conf = make_conf(k);
  if (!conf) return {nullptr, conf.status()};
  Status s = apply_settings(conf->get(), k, "the test client",
                            {{"enable.idempotence", "true", "retries duplicate nothing"}},
                            {{"linger.ms", "2"}, {"message.timeout.ms", "30000"}});
  return {std::move(*conf), s};
}

TEST(KafkaSettings, ANameValueIsSplitAtTheFirstEqualsSignAndABadOneChangesNothing) {
  std::map<std::string, std::string> extra;
  EXPECT_TRUE(add_kafka_setting(extra, "linger.ms=7"));
  EXPECT_TRUE(add_kafka_setting(extra, "sasl.password=a=b"));  // the value may hold '='
  EXPECT_TRUE(add_kafka_setting(extra, "client.rack="));       // and may be empty
  EXPECT_TRUE(add_kafka_setting(extra, "linger.ms=9"));        // a later value replaces
  const std::map<std::string, std::string> want{
      {"linger.ms", "9"}, {"sasl.password", "a=b"}, {"client.rack", ""}};
  EXPECT_EQ(extra, want);
  for (const char* bad : {"linger.ms", "=7", ""}) {
    Status s = add_kafka_setting(extra, bad);
    EXPECT_EQ(s.reason(), Reason::kInvalidArgument) << bad;
    EXPECT_EQ(s.message(), std::string("expected name=value, got '") + bad + "'");
    EXPECT_EQ(extra, want) << bad;
  }
}

TEST(KafkaSettings, AFixedSettingNamedInExtraIsRefusedBeforeAnythingIsSet) {
  Applied a = apply_test_client("enable.idempotence", "false");
  ASSERT_NE(a.conf, nullptr) << a.status.to_string();
  EXPECT_EQ(a.status.reason(), Reason::kInvalidArgument);
  EXPECT_EQ(a.status.message(),
            "Kafka setting enable.idempotence cannot be changed: the test client sets it to true "
            "(retries duplicate nothing)");
  EXPECT_EQ(get(a.conf.get(), "enable.idempotence"), "false");  // as make_conf left it
  EXPECT_NE(get(a.conf.get(), "linger.ms"), "2");
}

TEST(KafkaSettings, ExtraOverridesADefaultAndTheOtherDefaultsAreSet) {
  Applied a = apply_test_client("linger.ms", "7");
  ASSERT_TRUE(a.status) << a.status.to_string();
  EXPECT_EQ(get(a.conf.get(), "enable.idempotence"), "true");
  EXPECT_EQ(get(a.conf.get(), "linger.ms"), "7");
  EXPECT_EQ(get(a.conf.get(), "message.timeout.ms"), "30000");
}

TEST(KafkaSettings, EveryClientReconnectsWithinASecondUnlessExtraSaysOtherwise) {
  KafkaConfig k;
  auto conf = make_conf(k);
  ASSERT_TRUE(conf) << conf.status().to_string();
  EXPECT_EQ(get(conf->get(), "reconnect.backoff.max.ms"), "1000");
  k.extra["reconnect.backoff.max.ms"] = "5000";
  conf = make_conf(k);
  ASSERT_TRUE(conf) << conf.status().to_string();
  EXPECT_EQ(get(conf->get(), "reconnect.backoff.max.ms"), "5000");
}

TEST(KafkaSettings, TheNodeRefusesExtraNamingASettingItFixesAndCreatesNothing) {
  testing::TempDir dir;
  // (Values librdkafka takes: make_conf applies config.extra first.)
  for (auto [name, value] : {std::pair{"group.id", "other"},
                             {"enable.auto.commit", "true"},
                             {"enable.auto.offset.store", "true"},
                             {"auto.offset.reset", "latest"},
                             {"enable.partition.eof", "false"},
                             {"enable.idempotence", "false"}}) {
    KafkaConfig k;
    k.brokers = "127.0.0.1:1";  // never reached
    k.extra[name] = value;
    NodeOptions o;
    o.data_dir = dir.path() + "/data";
    o.publish_rejections = true;  // the rejection notices' producer fixes enable.idempotence
    auto node = LedgerNode::create(k, o);
    ASSERT_FALSE(node) << name;
    EXPECT_EQ(node.status().reason(), Reason::kInvalidArgument) << name;
    EXPECT_EQ(node.status().message().rfind(std::string("Kafka setting ") + name +
                                                " cannot be changed: the ledger node sets it to ",
                                            0),
              0u)
        << node.status().message();
    EXPECT_FALSE(exists(o.data_dir)) << name;
  }
  KafkaConfig k;
  k.extra["group.id"] = "other";
  NodeOptions o;
  o.data_dir = dir.path() + "/data";
  auto node = LedgerNode::create(k, o);
  ASSERT_FALSE(node);
  EXPECT_NE(node.status().message().find("sets it to govcredit-ledger"), std::string::npos)
      << node.status().message();
  EXPECT_NE(node.status().message().find("--group"), std::string::npos);
}

TEST(KafkaSettings, TheProducerRefusesExtraNamingASettingItFixes) {
  for (auto [name, value] :
       {std::pair{"enable.idempotence", "false"}, {"acks", "1"}, {"partitioner", "consistent"}}) {
    KafkaConfig k;
    k.brokers = "127.0.0.1:1";  // never reached: refused before the metadata request
    k.extra[name] = value;
    auto p = EventProducer::create(k);
    ASSERT_FALSE(p) << name;
    EXPECT_EQ(p.status().reason(), Reason::kInvalidArgument) << name;
    EXPECT_NE(p.status().message().find(std::string("Kafka setting ") + name +
                                        " cannot be changed: the event producer sets it to "),
              std::string::npos)
        << p.status().message();
  }
}

}  // namespace
}  // namespace govcredit
