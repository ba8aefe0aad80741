// Internal to src/kafka: librdkafka handles with RAII and the shared configuration.
#pragma once

#include <librdkafka/rdkafka.h>

#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>

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

// A librdkafka property a client sets itself. A fixed one carries a promise of the client's
// (offsets, ordering, the partitioner), given as `why`; a default only tunes it.
struct Setting {
  const char* name;
  std::string value;
  const char* why = "";
};
// Sets `fixed` and, unless config.extra names them, `defaults` on a make_conf configuration
// (where config.extra is already applied). A config.extra entry naming a fixed setting is
// refused (kInvalidArgument, naming the setting, `client`, its value and why), before anything
// is set.
Status apply_settings(rd_kafka_conf_t* conf, const KafkaConfig& config, std::string_view client,
                      std::initializer_list<Setting> fixed,
                      std::initializer_list<Setting> defaults);
// Creates a handle; takes ownership of conf (also on failure).
Result<KafkaPtr> make_handle(rd_kafka_type_t type, ConfPtr conf);

Status kafka_error(rd_kafka_resp_err_t err, const std::string& what);

}  // namespace govcredit::kafka_internal
