// NatsConnection against a real nats-server -js on loopback: what the
// partitioned source's leases rest on.
#include "daemon/nats/nats_connection.h"

#include <gtest/gtest.h>
#include <nats/nats.h>

#include <string>

#include "tests/integration/harness.h"
#include "tests/integration/nats_fixture.h"

namespace trailwatch::it {
namespace {

// A key-value bucket of the test's own, and the revision of each write.
class Bucket {
 public:
  Bucket(jsCtx* js, const std::string& name) {
    kvConfig kc;
    kvConfig_Init(&kc);
    kc.Bucket = name.c_str();
    kc.History = 1;
    ok_ = js_CreateKeyValue(&kv_, js, &kc) == NATS_OK;
  }
  ~Bucket() {
    if (kv_ != nullptr) kvStore_Destroy(kv_);
  }
  bool ok() const { return ok_; }
  uint64_t create(const std::string& key, const std::string& value) {
    uint64_t rev = 0;
    return kvStore_CreateString(&rev, kv_, key.c_str(), value.c_str()) == NATS_OK ? rev : 0;
  }
  uint64_t put(const std::string& key, const std::string& value) {
    uint64_t rev = 0;
    return kvStore_PutString(&rev, kv_, key.c_str(), value.c_str()) == NATS_OK ? rev : 0;
  }
  // The key's value, or "" when it is deleted or missing.
  std::string value(const std::string& key) {
    kvEntry* e = nullptr;
    if (kvStore_Get(&e, kv_, key.c_str()) != NATS_OK) return "";
    std::string v = kvEntry_ValueString(e) != nullptr ? kvEntry_ValueString(e) : "";
    kvEntry_Destroy(e);
    return v;
  }

 private:
  kvStore* kv_ = nullptr;
  bool ok_ = false;
};

TEST(NatsConnectionTest, DeletesALeaseOnlyAtTheRevisionItWrote) {
  SKIP_WITHOUT_NATS_SERVER();
  TempDir dir;
  NatsServer server(dir);
  ASSERT_TRUE(server.up()) << server.logs();
  nats::NatsConnectionOptions options;
  options.url = server.url();
  options.name = "lease test";
  auto connection = nats::NatsConnection::connect(options);
  ASSERT_TRUE(connection.ok()) << connection.error();
  nats::NatsConnection& nc = **connection;
  Bucket bucket(nc.jetStream(), "leases");
  ASSERT_TRUE(bucket.ok());

  // Instance a took the lease; then it aged out and b took it.
  const uint64_t a_rev = bucket.create("partition.0", "a");
  ASSERT_NE(a_rev, 0u);
  const uint64_t b_rev = bucket.put("partition.0", "b");
  ASSERT_GT(b_rev, a_rev);

  // a, waking up, releases what it believes is its lease: refused.
  Status stale = nc.deleteKeyAtRevision("leases", "partition.0", a_rev);
  EXPECT_FALSE(stale.ok());
  EXPECT_NE(stale.error().find("partition.0"), std::string::npos) << stale.error();
  EXPECT_EQ(bucket.value("partition.0"), "b");
  EXPECT_EQ(bucket.create("partition.0", "c"), 0u) << "b's lease must still hold";

  // b releases at its own revision: gone, and free to be taken again.
  ASSERT_TRUE(nc.deleteKeyAtRevision("leases", "partition.0", b_rev).ok());
  EXPECT_EQ(bucket.value("partition.0"), "");
  EXPECT_NE(bucket.create("partition.0", "c"), 0u);

  EXPECT_FALSE(nc.deleteKeyAtRevision("leases", "partition.1", 0).ok());
}

}  // namespace
}  // namespace trailwatch::it
