#!/usr/bin/env bash
# Runs Apache Kafka (KRaft mode, combined broker+controller nodes) on 127.0.0.1 for development,
# tests and CI. The broker comes from Maven Central (ops/kafka/pom.xml) and is cached in
# ops/kafka/dist (git-ignored; override with GOVCREDIT_KAFKA_DIST).
#
#   ops/kafka/kafka.sh fetch                    download the jars (idempotent)
#   ops/kafka/kafka.sh start single|cluster     format storage if new, start, wait for metadata
#   ops/kafka/kafka.sh stop single|cluster      stop the nodes this script started (by pid)
#   ops/kafka/kafka.sh stop-node cluster N      kill -9 one node (fault tests)
#   ops/kafka/kafka.sh start-node cluster N     restart one node and wait for it (only it)
#   ops/kafka/kafka.sh brokers single|cluster   print the bootstrap list
#   ops/kafka/kafka.sh status single|cluster
#
# single:  one node, PLAINTEXT 127.0.0.1:19092 (controller :19093), replication 1.
# cluster: three nodes, PLAINTEXT 127.0.0.1:19192,19292,19392 (controllers :19193,19293,19393),
#          replication 3, min.insync.replicas 2.
# State lives in ops/kafka/run/<name>/ (git-ignored; override with GOVCREDIT_KAFKA_RUN).
#
# GOVCREDIT_KAFKA_FLUSH_MS=N (unset: Kafka's default, never flush and leave it to the kernel)
# makes the broker flush each log every N ms. On a machine where the broker shares the ledger
# node's disk, a burst of produced data otherwise stays dirty for 30 s and is then written back
# at once, stalling the node's fsyncs for 0.1-0.6 s; with 1000 the batch-signed produce -> proof
# p99.9 at 1M went from 209-571 ms to 16-20 ms (docs/PERFORMANCE.md §3.2). Not the default: the
# first CI run with it on saw a benchmark's node stop consuming a partition (§3.2).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dist=${GOVCREDIT_KAFKA_DIST:-$here/dist}
run_root=${GOVCREDIT_KAFKA_RUN:-$here/run}
heap=${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}

die() { echo "kafka.sh: $*" >&2; exit 1; }

fetch() {
  local version
  version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/pom.xml")
  mkdir -p "$dist"
  # One fetch at a time: parallel callers (ctest fixtures) wait for the first one's result.
  exec 9> "$dist/.lock"
  flock 9
  if [[ ! -f $dist/.fetched-$version ]]; then
    command -v mvn >/dev/null || die "Maven is missing (ops/install-deps.sh installs it)"
    echo "kafka.sh: fetching Apache Kafka $version from Maven Central into $dist" >&2
    rm -rf "$dist/libs"
    mvn -B -q -f "$here/pom.xml" dependency:copy-dependencies -DincludeScope=runtime \
        -DoutputDirectory="$dist/libs" >&2 || die "fetching Kafka from Maven Central failed"
    touch "$dist/.fetched-$version"
  fi
  flock -u 9
}

# The short-lived tools (format, the readiness probe) run on a small JVM that compiles with C1
# only and collects with the serial collector: they start a few times per test run, beside a
# broker that is starting on the same two cores.
java_run() {
  java -Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
    -cp "$dist/libs/*" "$@"
}

nodes_of() { case $1 in single) echo 1 ;; cluster) echo 1 2 3 ;; *) die "unknown set '$1' (single|cluster)" ;; esac; }
port_of() { # set node -> client port
  case $1 in single) echo 19092 ;; cluster) echo $((19092 + 100 * $2)) ;; esac
}
brokers() {
  local out=() n
  for n in $(nodes_of "$1"); do out+=("127.0.0.1:$(port_of "$1" "$n")"); done
  (IFS=,; echo "${out[*]}")
}
voters() {
  local out=() n
  for n in $(nodes_of "$1"); do out+=("$n@127.0.0.1:$(($(port_of "$1" "$n") + 1))"); done
  (IFS=,; echo "${out[*]}")
}

write_config() { # set node dir
  local set=$1 n=$2 dir=$3 port rf isr
  port=$(port_of "$set" "$n")
  if [[ $set == single ]]; then rf=1; isr=1; else rf=3; isr=2; fi
  cat > "$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=$n
controller.quorum.voters=$(voters "$set")
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$((port + 1))
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$dir/data
num.partitions=1
default.replication.factor=$rf
min.insync.replicas=$isr
offsets.topic.replication.factor=$rf
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$isr
share.coordinator.state.topic.replication.factor=$rf
share.coordinator.state.topic.min.isr=$isr
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
log.flush.interval.messages=9223372036854775807
PROPS
  if [[ -n ${GOVCREDIT_KAFKA_FLUSH_MS:-} ]]; then
    [[ $GOVCREDIT_KAFKA_FLUSH_MS =~ ^[1-9][0-9]*$ ]] ||
      die "GOVCREDIT_KAFKA_FLUSH_MS must be a number of milliseconds, not '$GOVCREDIT_KAFKA_FLUSH_MS'"
    printf 'log.flush.interval.ms=%s\nlog.flush.scheduler.interval.ms=%s\n' \
      "$GOVCREDIT_KAFKA_FLUSH_MS" "$GOVCREDIT_KAFKA_FLUSH_MS" >> "$dir/server.properties"
  fi
}

# What `StorageTool random-uuid` prints (16 random bytes, base64url without padding, not starting
# with '-'), without starting a JVM for it.
new_cluster_id() {
  local id
  until id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=') && [[ $id != -* ]]; do :; done
  echo "$id"
}

node_dir() { echo "$run_root/$1/node-$2"; }
pid_of() { local f; f="$(node_dir "$1" "$2")/pid"; [[ -f $f ]] && cat "$f" || true; }
alive() { local pid; pid=$(pid_of "$1" "$2"); [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; }

start_node() { # set node
  local set=$1 n=$2 dir
  dir=$(node_dir "$set" "$n")
  if alive "$set" "$n"; then return 0; fi
  mkdir -p "$dir/logs"
  write_config "$set" "$n" "$dir"
  if [[ ! -f $dir/data/meta.properties ]]; then
    local cluster_id_file="$run_root/$set/cluster-id"
    [[ -f $cluster_id_file ]] || new_cluster_id > "$cluster_id_file"
    java_run -Dlog4j2.configurationFile="$here/log4j2.properties" -Dkafka.logs.dir="$dir/logs" \
      kafka.tools.StorageTool format -t "$(cat "$cluster_id_file")" -c "$dir/server.properties" \
      > "$dir/logs/format.log" 2>&1 || { cat "$dir/logs/format.log" >&2; die "formatting node $n failed"; }
  fi
  # setsid: the broker gets its own process group, so it outlives the shell that started it
  # and can be stopped exactly by its pid.
  setsid java $heap -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$here/log4j2.properties" -Dkafka.logs.dir="$dir/logs" \
    -cp "$dist/libs/*" kafka.Kafka "$dir/server.properties" > "$dir/logs/stdout.log" 2>&1 < /dev/null &
  echo $! > "$dir/pid"
}

wait_ready() { # set [node]: that node (every node of the set) answers a describe-cluster request
  local set=$1 limit=90 start=$SECONDS n
  for n in ${2:-$(nodes_of "$set")}; do
    until java_run -Dlog4j2.configurationFile="$here/log4j2.properties" -Dkafka.logs.dir=/tmp \
        org.apache.kafka.tools.ClusterTool cluster-id --bootstrap-server "127.0.0.1:$(port_of "$set" "$n")" \
        >/dev/null 2>&1; do
      alive "$set" "$n" || { tail -20 "$(node_dir "$set" "$n")/logs/server.log" >&2; die "node $n died while starting"; }
      (( SECONDS - start < limit )) || die "node $n did not answer within ${limit}s"
      sleep 1
    done
  done
  if [[ -n ${2:-} ]]; then
    echo "kafka.sh: node $2 of $set ready at 127.0.0.1:$(port_of "$set" "$2")" >&2
  else
    echo "kafka.sh: $set ready at $(brokers "$set")" >&2
  fi
}

stop_node() { # set node [signal]
  local pid
  pid=$(pid_of "$1" "$2")
  [[ -n $pid ]] || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill "-${3:-TERM}" "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$(node_dir "$1" "$2")/pid"
}

cmd=${1:-}; set=${2:-single}
case $cmd in
  fetch) fetch ;;
  start)
    fetch
    for n in $(nodes_of "$set"); do start_node "$set" "$n"; done
    wait_ready "$set" ;;
  stop) # all nodes at once: a controlled shutdown of one waits for the others otherwise
    for n in $(nodes_of "$set"); do stop_node "$set" "$n" & done
    wait ;;
  stop-node) stop_node "$set" "${3:?node number}" KILL ;;
  start-node) start_node "$set" "${3:?node number}"; wait_ready "$set" "$3" ;;
  brokers) brokers "$set" ;;
  status) for n in $(nodes_of "$set"); do alive "$set" "$n" && echo "node $n: up (pid $(pid_of "$set" "$n"))" || echo "node $n: down"; done ;;
  clean) for n in $(nodes_of "$set"); do stop_node "$set" "$n"; done; rm -rf "${run_root:?}/$set" ;;
  *) sed -n '2,20p' "$0"; exit 2 ;;
esac
