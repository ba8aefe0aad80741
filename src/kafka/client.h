// Internal to src/kafka: librdkafka handles with RAII and the shared configuration.
#pragma once

#include <librdkafka/rdkafka.h>

#include <memory>
#include <string>

#include "govcredit/kafka.h"

namespace govcredit::kafka_internal {

struct KafkaDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
using KafkaPtr = std::unique_ptr<rd_kafka_t, KafkaDeleter>;

struct ConfDeleter {
  void operator()(rd_kafka_conf_t* c) const { rd_kafka_conf_destroy(c); }
};
using ConfPtr = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;

// A configuration with bootstrap.servers, loopback-friendly defaults and config.extra applied.
Result<ConfPtr> make_conf(const KafkaConfig& config);
Status set(rd_kafka_conf_t* conf, const char* name, const std::string& value);
// Creates a handle; takes ownership of conf (also on failure).
Result<KafkaPtr> make_handle(rd_kafka_type_t type, ConfPtr conf);

Status kafka_error(rd_kafka_resp_err_t err, const std::string& what);

}  // namespace govcredit::kafka_internal
