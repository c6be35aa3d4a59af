// Decrypting a sops YAML file of 10,000 encrypted keys (plus the steps on
// their own): parse, unwrap the data key with an age identity, 10,000
// AES-256-GCM opens, the SHA-512 MAC, and writing the plaintext YAML back.
#include <benchmark/benchmark.h>

#include <string>

#include "age/age.h"
#include "files/formats.h"
#include "files/keys.h"
#include "files/operations.h"

namespace coffer::files {
namespace {

constexpr int kKeys = 10000;

struct Fixture {
  age::X25519Identity id = age::GenerateX25519Identity();
  std::string plain;
  std::string encrypted;
  KeyServices services;

  Fixture() {
    for (int i = 0; i < kKeys; ++i) {
      plain += "key_" + std::to_string(i) + ": value-" + std::to_string(i * 7919) +
               "-abcdefghijklmnop\n";
    }
    services.use_pgp = false;
    services.age_identities.emplace_back(id.identity.Reveal());
    Metadata md;
    KeyGroup g;
    g.age.push_back({id.recipient, ""});
    md.key_groups.push_back(g);
    auto enc = EncryptText(Format::kYaml, plain, md, services, "2026-12-03T10:00:00Z");
    if (enc.has_value()) encrypted = *enc;
  }
};

Fixture& Get() {
  static Fixture f;
  return f;
}

// The whole `coffer file decrypt` work, without process start and I/O.
void BM_DecryptYaml10k(benchmark::State& state) {
  Fixture& f = Get();
  for (auto _ : state) {
    auto d = DecryptText(Format::kYaml, f.encrypted, f.services, {});
    if (!d.has_value()) state.SkipWithError("decrypt failed");
    auto out = EmitPlaintext(Format::kYaml, d->file.doc);
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations() * kKeys);
}
BENCHMARK(BM_DecryptYaml10k)->Unit(benchmark::kMillisecond);

void BM_ParseEncryptedYaml10k(benchmark::State& state) {
  Fixture& f = Get();
  for (auto _ : state) {
    auto doc = ParseYaml(f.encrypted);
    benchmark::DoNotOptimize(doc);
  }
}
BENCHMARK(BM_ParseEncryptedYaml10k)->Unit(benchmark::kMillisecond);

void BM_EncryptYaml10k(benchmark::State& state) {
  Fixture& f = Get();
  Metadata md;
  KeyGroup g;
  g.age.push_back({f.id.recipient, ""});
  md.key_groups.push_back(g);
  for (auto _ : state) {
    auto enc = EncryptText(Format::kYaml, f.plain, md, f.services, "2026-12-03T10:00:00Z");
    benchmark::DoNotOptimize(enc);
  }
}
BENCHMARK(BM_EncryptYaml10k)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace coffer::files
