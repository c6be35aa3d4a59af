// Fills a dev data directory with parameters, through the same ParameterStore
// the server uses (envelope encryption, one durable commit per parameter, many
// writers sharing group commits), without HTTP or SigV4: bench/run uses it to
// build the 10k / 100k / 1M stores of its scale curve in seconds rather than
// the minutes that signed PutParameter calls from a script would take.
//
// Usage: coffer_scale_fill DATA_DIR FROM TO [THREADS]
//   Writes SecureString parameters FROM..TO-1 (exclusive end), named
//     /scale/small/p<i>        for i < 10          (a path with 10 parameters)
//     /scale/big/p<i>          for 10 <= i < 10010 (a path with 10,000 parameters)
//     /scale/bulk/b<i%1000>/p<i> for the rest
//   Run it on a stopped server's data directory (dev mode).
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "domain/parameters/parameter_store.h"
#include "server/server_context.h"
#include "util/log.h"
#include "util/secret_bytes.h"

namespace {

std::string NameOf(long i) {
  if (i < 10) return "/scale/small/p" + std::to_string(i);
  if (i < 10010) return "/scale/big/p" + std::to_string(i);
  return "/scale/bulk/b" + std::to_string(i % 1000) + "/p" + std::to_string(i);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace coffer;
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s DATA_DIR FROM TO [THREADS]\n", argv[0]);
    return 2;
  }
  long from = std::atol(argv[2]);
  long to = std::atol(argv[3]);
  int threads = argc > 4 ? std::atoi(argv[4]) : 64;
  util::InitLogging(util::LogLevel::kWarn);
  server::ServerOptions options;
  options.dev = true;
  options.data_dir = argv[1];
  options.listen = "127.0.0.1:0";
  auto context = server::Start(options);
  if (!context) {
    std::fprintf(stderr, "cannot open %s: %s\n", argv[1], context.error().message.c_str());
    return 1;
  }
  std::shared_ptr<server::Serving> serving = (*context)->serving();
  std::atomic<long> next{from};
  std::atomic<long> failures{0};
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      while (true) {
        long i = next.fetch_add(1);
        if (i >= to) return;
        domain::parameters::PutParameterRequest request;
        request.name = NameOf(i);
        std::string value = "scale-value-" + std::to_string(i) + "-0123456789abcdef";
        request.value = SecretBytes(value);
        request.type = domain::parameters::ParameterType::kSecureString;
        request.overwrite = true;
        auto put = serving->parameters->PutParameter(
            request, "arn:aws:iam::000000000000:user/admin");
        if (!put) {
          if (failures.fetch_add(1) < 5) {
            std::fprintf(stderr, "%s: %s\n", request.name.c_str(), put.error().message.c_str());
          }
        }
      }
    });
  }
  for (auto& t : pool) t.join();
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  serving.reset();
  server::Stop(**context);
  std::printf("{\"written\": %ld, \"failures\": %ld, \"seconds\": %.3f}\n", to - from,
              failures.load(), seconds);
  return failures.load() == 0 ? 0 : 1;
}
