#include "domain/s3/object_store.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "storage/backend.h"
#include "support/domain_fixture.h"
#include "support/matchers.h"

namespace coffer::domain::s3 {
namespace {

constexpr std::string_view kCanary = "CANARY-s3-object-plaintext-7f3a";

// A payload of `size` bytes that starts with the canary and varies after it.
std::string Payload(size_t size, char seed = 'a') {
  std::string out(kCanary);
  while (out.size() < size) out.push_back(static_cast<char>(seed + out.size() % 23));
  out.resize(size);
  return out;
}

class ObjectStoreTest : public testing::DomainTest {
 protected:
  void SetUp() override {
    DomainTest::SetUp();
    ObjectStoreOptions options;
    options.max_object_bytes = 24 * 1024 * 1024;
    store_ = std::make_unique<ObjectStore>(domain_.backend(), *domain_.keyring, *domain_.keys,
                                           domain_.clock, domain_.ids, options);
    ASSERT_TRUE(IsOk(store_->CreateBucket("bucket")));
  }

  std::string Read(const ObjectInfo& o, uint64_t offset, uint64_t length) {
    auto r = store_->ReadObject(o, offset, length);
    EXPECT_TRUE(IsOk(r));
    return r ? std::string(r->Reveal()) : std::string();
  }

  // Every stored key under "s3/".
  std::vector<std::string> Keys(std::string_view prefix = "s3/") {
    std::vector<std::string> out;
    auto all = domain_.backend().Range(prefix, storage::PrefixEnd(prefix), 0);
    for (const auto& e : all->entries) out.push_back(e.key);
    return out;
  }

  bool AnyValueContains(std::string_view needle) {
    auto all = domain_.backend().Range("", "", 0);
    for (const auto& e : all->entries) {
      if (e.value.find(needle) != std::string::npos) return true;
    }
    return false;
  }

  std::unique_ptr<ObjectStore> store_;
};

// A 2.5 MiB object is stored as three sealed chunk records and reads back
// whole and in ranges that cross chunk boundaries; no plaintext is stored.
TEST_F(ObjectStoreTest, PutStoresChunksOfAtMostOneMebibyteAndReadsBackRanges) {
  std::string data = Payload(2 * kChunkBytes + kChunkBytes / 2);
  auto put = store_->PutObject("bucket", "dir/a.bin", data, {});
  ASSERT_TRUE(IsOk(put));
  EXPECT_EQ(Keys("s3/chunk/").size(), 3u);
  for (const auto& k : Keys("s3/chunk/")) {
    EXPECT_LE(domain_.backend().Get(k)->value.size(), kChunkBytes + 256);
  }
  auto head = store_->HeadObject("bucket", "dir/a.bin");
  ASSERT_TRUE(IsOk(head));
  EXPECT_EQ(head->size, data.size());
  EXPECT_EQ(head->etag, put->etag);
  EXPECT_EQ(Read(*head, 0, data.size()), data);
  EXPECT_EQ(Read(*head, kChunkBytes - 10, 20), data.substr(kChunkBytes - 10, 20));
  EXPECT_EQ(Read(*head, data.size() - 1, 1), data.substr(data.size() - 1));
  EXPECT_FALSE(AnyValueContains(kCanary));
}

// The ETag is the MD5 of the bytes, as on S3.
TEST_F(ObjectStoreTest, EtagIsTheMd5Hex) {
  auto put = store_->PutObject("bucket", "k", "hello", {});
  ASSERT_TRUE(IsOk(put));
  EXPECT_EQ(put->etag, "5d41402abc4b2a76b9719d911017c592");
}

// Over the configured maximum: EntityTooLarge, and nothing is stored.
TEST_F(ObjectStoreTest, PutOverTheMaximumFailsWithEntityTooLargeAndStoresNothing) {
  std::string data(24 * 1024 * 1024 + 1, 'x');
  EXPECT_TRUE(HasError(store_->PutObject("bucket", "big", data, {}), ErrorCode::kInvalidArgument,
                       Reason::kEntityTooLarge));
  EXPECT_TRUE(Keys("s3/chunk/").empty());
  EXPECT_TRUE(Keys("s3/object/").empty());
}

// A put naming an unknown KMS key is refused before anything is written.
TEST_F(ObjectStoreTest, PutUnderAnUnknownKeyFailsAndStoresNothing) {
  ObjectAttributes a;
  a.kms_key = "alias/nope";
  EXPECT_TRUE(HasError(store_->PutObject("bucket", "k", "v", a), ErrorCode::kNotFound,
                       Reason::kInvalidKeyId));
  EXPECT_TRUE(Keys("s3/chunk/").empty());
  EXPECT_TRUE(Keys("s3/object/").empty());
}

// Replacing and deleting objects removes their old chunks.
TEST_F(ObjectStoreTest, OverwriteAndDeleteLeaveNoOrphanChunks) {
  ASSERT_TRUE(IsOk(store_->PutObject("bucket", "k", Payload(3 * kChunkBytes), {})));
  ASSERT_TRUE(IsOk(store_->PutObject("bucket", "k", Payload(10), {})));
  EXPECT_EQ(Keys("s3/chunk/").size(), 1u);
  ASSERT_TRUE(IsOk(store_->DeleteObject("bucket", "k")));
  EXPECT_TRUE(Keys("s3/chunk/").empty());
  EXPECT_TRUE(IsOk(store_->DeleteObject("bucket", "k")));  // absent: fine
  EXPECT_TRUE(HasError(store_->HeadObject("bucket", "k"), ErrorCode::kNotFound,
                       Reason::kNoSuchKey));
}

// A chunk sealed for one object does not open as another's.
TEST_F(ObjectStoreTest, ChunkMovedToAnotherObjectFailsToDecrypt) {
  auto a = store_->PutObject("bucket", "a", Payload(100, 'a'), {});
  auto b = store_->PutObject("bucket", "b", Payload(100, 'b'), {});
  ASSERT_TRUE(IsOk(a));
  ASSERT_TRUE(IsOk(b));
  std::string a_chunk = "s3/chunk/" + a->data_id + "/00001/000000";
  std::string b_chunk = "s3/chunk/" + b->data_id + "/00001/000000";
  storage::Txn txn;
  txn.writes.push_back(storage::Write::Put(b_chunk, domain_.backend().Get(a_chunk)->value));
  ASSERT_TRUE(IsOk(domain_.backend().Commit(txn)));
  auto head = store_->HeadObject("bucket", "b");
  ASSERT_TRUE(IsOk(head));
  EXPECT_TRUE(HasError(store_->ReadObject(*head, 0, 100), ErrorCode::kDataLoss,
                       Reason::kCiphertextTampered));
}

TEST_F(ObjectStoreTest, BucketLifecycle) {
  EXPECT_TRUE(HasError(store_->CreateBucket("bucket"), ErrorCode::kAlreadyExists,
                       Reason::kBucketAlreadyOwnedByYou));
  EXPECT_TRUE(HasError(store_->CreateBucket("Bad_Name"), ErrorCode::kInvalidArgument,
                       Reason::kInvalidBucketName));
  ASSERT_TRUE(IsOk(store_->PutObject("bucket", "k", "v", {})));
  EXPECT_TRUE(HasError(store_->DeleteBucket("bucket"), ErrorCode::kFailedPrecondition,
                       Reason::kBucketNotEmpty));
  ASSERT_TRUE(IsOk(store_->DeleteObject("bucket", "k")));
  EXPECT_TRUE(IsOk(store_->DeleteBucket("bucket")));
  EXPECT_TRUE(HasError(store_->GetBucket("bucket"), ErrorCode::kNotFound,
                       Reason::kNoSuchBucket));
  EXPECT_TRUE(HasError(store_->PutObject("bucket", "k", "v", {}), ErrorCode::kNotFound,
                       Reason::kNoSuchBucket));
}

// ListObjects: prefix, delimiter (common prefixes), max-keys and resuming
// after the last key returned.
TEST_F(ObjectStoreTest, ListWithPrefixDelimiterAndContinuation) {
  for (std::string k : {"a/1", "a/2", "a/b/3", "c", "d/4"}) {
    ASSERT_TRUE(IsOk(store_->PutObject("bucket", k, "x", {})));
  }
  ListRequest r;
  r.delimiter = "/";
  auto top = store_->ListObjects("bucket", r);
  ASSERT_TRUE(IsOk(top));
  ASSERT_EQ(top->objects.size(), 1u);
  EXPECT_EQ(top->objects[0].key, "c");
  EXPECT_EQ(top->common_prefixes, (std::vector<std::string>{"a/", "d/"}));
  r.prefix = "a/";
  auto under_a = store_->ListObjects("bucket", r);
  ASSERT_TRUE(IsOk(under_a));
  EXPECT_EQ(under_a->objects.size(), 2u);
  EXPECT_EQ(under_a->common_prefixes, (std::vector<std::string>{"a/b/"}));
  ListRequest paged;
  paged.max_keys = 2;
  std::vector<std::string> seen;
  for (int i = 0; i < 5; ++i) {
    auto page = store_->ListObjects("bucket", paged);
    ASSERT_TRUE(IsOk(page));
    for (const auto& o : page->objects) seen.push_back(o.key);
    if (!page->truncated) break;
    paged.start_after = page->last;
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"a/1", "a/2", "a/b/3", "c", "d/4"}));
  // With a delimiter, a page that ends on a common prefix resumes after all of it.
  ListRequest grouped;
  grouped.delimiter = "/";
  grouped.max_keys = 1;
  std::vector<std::string> entries;
  for (int i = 0; i < 5; ++i) {
    auto page = store_->ListObjects("bucket", grouped);
    ASSERT_TRUE(IsOk(page));
    for (const auto& o : page->objects) entries.push_back(o.key);
    for (const auto& p : page->common_prefixes) entries.push_back(p);
    if (!page->truncated) break;
    grouped.start_after = page->last;
  }
  EXPECT_EQ(entries, (std::vector<std::string>{"a/", "c", "d/"}));
}

// A multipart upload assembles its parts in order with S3's ETag; the parts'
// data becomes the object's without a copy, and nothing of the upload stays.
TEST_F(ObjectStoreTest, MultipartUploadAssemblesPartsWithTheMultipartEtag) {
  auto up = store_->CreateUpload("bucket", "big", {});
  ASSERT_TRUE(IsOk(up));
  std::string p1 = Payload(kMinPartBytes, 'a');
  std::string p2 = Payload(1000, 'b');
  auto e1 = store_->UploadPart("bucket", "big", up->upload_id, 1, p1);
  auto e2 = store_->UploadPart("bucket", "big", up->upload_id, 2, p2);
  ASSERT_TRUE(IsOk(e1));
  ASSERT_TRUE(IsOk(e2));
  auto uploads = store_->ListUploads("bucket", "b");
  ASSERT_TRUE(IsOk(uploads));
  ASSERT_EQ(uploads->size(), 1u);
  EXPECT_EQ((*uploads)[0].upload_id, up->upload_id);
  EXPECT_TRUE(store_->ListUploads("bucket", "x")->empty());
  auto parts = store_->ListParts("bucket", "big", up->upload_id);
  ASSERT_TRUE(IsOk(parts));
  EXPECT_EQ(parts->size(), 2u);
  auto done = store_->CompleteUpload("bucket", "big", up->upload_id, {{1, *e1}, {2, *e2}});
  ASSERT_TRUE(IsOk(done));
  EXPECT_TRUE(done->etag.ends_with("-2"));
  auto head = store_->HeadObject("bucket", "big");
  ASSERT_TRUE(IsOk(head));
  EXPECT_EQ(Read(*head, 0, head->size), p1 + p2);
  EXPECT_TRUE(Keys("s3/upload/").empty());
  EXPECT_TRUE(Keys("s3/part/").empty());
  EXPECT_TRUE(store_->ListUploads("bucket", "")->empty());
  EXPECT_TRUE(HasError(store_->ListParts("bucket", "big", up->upload_id), ErrorCode::kNotFound,
                       Reason::kNoSuchUpload));
}

// Completing with a small middle part, a wrong ETag or parts out of order is
// refused and the upload stays as it was.
TEST_F(ObjectStoreTest, CompleteRefusesSmallPartsWrongEtagsAndBadOrder) {
  auto up = store_->CreateUpload("bucket", "k", {});
  ASSERT_TRUE(IsOk(up));
  auto e1 = store_->UploadPart("bucket", "k", up->upload_id, 1, "small");
  auto e2 = store_->UploadPart("bucket", "k", up->upload_id, 2, "last");
  ASSERT_TRUE(IsOk(e1));
  ASSERT_TRUE(IsOk(e2));
  EXPECT_TRUE(HasError(store_->CompleteUpload("bucket", "k", up->upload_id, {{1, *e1}, {2, *e2}}),
                       ErrorCode::kInvalidArgument, Reason::kEntityTooSmall));
  EXPECT_TRUE(HasError(store_->CompleteUpload("bucket", "k", up->upload_id, {{1, "00"}}),
                       ErrorCode::kInvalidArgument, Reason::kInvalidPart));
  EXPECT_TRUE(HasError(store_->CompleteUpload("bucket", "k", up->upload_id, {{2, *e2}, {1, *e1}}),
                       ErrorCode::kInvalidArgument, Reason::kInvalidPartOrder));
  EXPECT_TRUE(HasError(store_->HeadObject("bucket", "k"), ErrorCode::kNotFound,
                       Reason::kNoSuchKey));
  EXPECT_TRUE(IsOk(store_->ListParts("bucket", "k", up->upload_id)));
}

// Abort drops the upload and all its data.
TEST_F(ObjectStoreTest, AbortLeavesNothing) {
  auto up = store_->CreateUpload("bucket", "k", {});
  ASSERT_TRUE(IsOk(up));
  ASSERT_TRUE(IsOk(store_->UploadPart("bucket", "k", up->upload_id, 1, Payload(3 * kChunkBytes))));
  ASSERT_TRUE(IsOk(store_->AbortUpload("bucket", "k", up->upload_id)));
  EXPECT_TRUE(Keys().size() == 1u);  // only the bucket
  EXPECT_TRUE(HasError(store_->AbortUpload("bucket", "k", up->upload_id), ErrorCode::kNotFound,
                       Reason::kNoSuchUpload));
}

// An upload id is bound to its key.
TEST_F(ObjectStoreTest, UploadIdOfAnotherKeyIsNoSuchUpload) {
  auto up = store_->CreateUpload("bucket", "k", {});
  ASSERT_TRUE(IsOk(up));
  EXPECT_TRUE(HasError(store_->UploadPart("bucket", "other", up->upload_id, 1, "x"),
                       ErrorCode::kNotFound, Reason::kNoSuchUpload));
}

// CopyObject re-seals the bytes under the destination's identity.
TEST_F(ObjectStoreTest, CopyKeepsBytesAndMetadata) {
  ObjectAttributes a;
  a.content_type = "text/plain";
  a.metadata["color"] = "blue";
  ASSERT_TRUE(IsOk(store_->PutObject("bucket", "src", "payload", a)));
  auto copied = store_->CopyObject("bucket", "src", "bucket", "dst", std::nullopt, std::nullopt);
  ASSERT_TRUE(IsOk(copied));
  auto head = store_->HeadObject("bucket", "dst");
  ASSERT_TRUE(IsOk(head));
  EXPECT_EQ(head->content_type, "text/plain");
  EXPECT_EQ(head->metadata.at("color"), "blue");
  EXPECT_EQ(Read(*head, 0, head->size), "payload");
}

}  // namespace
}  // namespace coffer::domain::s3
