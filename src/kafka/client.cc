#include "client.h"

namespace govcredit::kafka_internal {

Status kafka_error(rd_kafka_resp_err_t err, const std::string& what) {
  return Status(Reason::kIoError, what + ": " + rd_kafka_err2str(err));
}

Status set(rd_kafka_conf_t* conf, const char* name, const std::string& value) {
  char err[512];
  if (rd_kafka_conf_set(conf, name, value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK)
    return Status(Reason::kInvalidArgument, std::string("Kafka setting ") + name + ": " + err);
  return Status::ok();
}

Status apply_settings(rd_kafka_conf_t* conf, const KafkaConfig& config, std::string_view client,
                      std::initializer_list<Setting> fixed,
                      std::initializer_list<Setting> defaults) {
  for (const Setting& f : fixed)
    if (config.extra.count(f.name))
      return Status(Reason::kInvalidArgument, std::string("Kafka setting ") + f.name +
                                                  " cannot be changed: " + std::string(client) +
                                                  " sets it to " + f.value + " (" + f.why + ")");
  for (const Setting& f : fixed)
    if (Status s = set(conf, f.name, f.value); !s) return s;
  for (const Setting& d : defaults)
    if (!config.extra.count(d.name))
      if (Status s = set(conf, d.name, d.value); !s) return s;
  return Status::ok();
}

Result<ConfPtr> make_conf(const KafkaConfig& config) {
  ConfPtr conf(rd_kafka_conf_new());
  if (Status s = set(conf.get(), "bootstrap.servers", config.brokers); !s) return s;
  if (Status s = set(conf.get(), "client.id", "govcredit"); !s) return s;
  // IPv4 loopback first: "localhost" may resolve to ::1 where the broker does not listen.
  if (Status s = set(conf.get(), "broker.address.family", "v4"); !s) return s;
  if (Status s = set(conf.get(), "log_level", "3"); !s) return s;  // errors only on stderr
  // A client that lost its broker tries again at least once a second (librdkafka's default lets
  // the wait grow to 10 s), so that a node takes up its partitions soon after the broker is back.
  if (Status s = set(conf.get(), "reconnect.backoff.max.ms", "1000"); !s) return s;
  for (const auto& [k, v] : config.extra)
    if (Status s = set(conf.get(), k.c_str(), v); !s) return s;
  return conf;
}

Result<KafkaPtr> make_handle(rd_kafka_type_t type, ConfPtr conf) {
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(type, conf.get(), err, sizeof err);
  if (rk == nullptr)
    return Status(Reason::kIoError, std::string("cannot create a Kafka client: ") + err);
  conf.release();  // rd_kafka_new took it
  return KafkaPtr(rk);
}

}  // namespace govcredit::kafka_internal

namespace govcredit {

Status add_kafka_setting(std::map<std::string, std::string>& extra, std::string_view name_value) {
  const auto eq = name_value.find('=');
  if (eq == std::string_view::npos || eq == 0)
    return Status(Reason::kInvalidArgument,
                  "expected name=value, got '" + std::string(name_value) + "'");
  extra[std::string(name_value.substr(0, eq))] = std::string(name_value.substr(eq + 1));
  return Status::ok();
}

}  // namespace govcredit
