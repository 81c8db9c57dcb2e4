// The libcurl client against a local edge-case server: framing (Content-Length,
// chunked, close-delimited, interim 1xx), connection reuse, deadlines, broken
// responses, and TLS verification with a throwaway CA.
#include "http/http_client.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "base/json.h"
#include "tests/support/process.h"

namespace secret_rotator::http {
namespace {

using testing::BackgroundProcess;
using testing::ReadFile;

class TestServer {
 public:
  explicit TestServer(const std::string& dir, std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {PYTHON3,
                                     std::string(SOURCE_DIR) + "/tests/support/http_test_server.py",
                                     "--port-file", dir + "/port"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    process_ =
        std::make_unique<BackgroundProcess>(argv, testing::ProcessOptions{}, dir + "/server.log");
    for (int i = 0; i < 200 && ReadFile(dir + "/port").empty(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    port_ = ReadFile(dir + "/port");
  }
  std::string Url(const std::string& path, const std::string& scheme = "http",
                  const std::string& host = "127.0.0.1") const {
    return scheme + "://" + host + ":" + port_ + path;
  }

 private:
  std::unique_ptr<BackgroundProcess> process_;
  std::string port_;
};

class HttpClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("http_client_test");
    server_ = std::make_unique<TestServer>(dir_);
    client_ = NewClient().value();
  }
  void TearDown() override {
    server_.reset();
    std::filesystem::remove_all(dir_);
  }
  Result<Response> Get(const std::string& path,
                       std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    Request request;
    request.url = server_->Url(path);
    request.timeout = timeout;
    return client_->Send(request);
  }
  int Connections() { return std::stoi(Get("/connections")->body); }

  std::string dir_;
  std::unique_ptr<TestServer> server_;
  std::unique_ptr<Client> client_;
};

TEST_F(HttpClientTest, SendsMethodHeadersAndBodyAndReadsTheAnswer) {
  Request request;
  request.method = "POST";
  request.url = server_->Url("/echo?x=1");
  request.headers = {{"X-Amz-Target", "secretsmanager.GetSecretValue"}};
  request.body = "{\"a\":\"\xc3\xbc\"}";
  request.timeout = std::chrono::seconds(5);
  Result<Response> response = client_->Send(request);
  ASSERT_TRUE(response.ok()) << response.status().message();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(*response->FindHeader("content-type"), "application/json");
  const JsonValue echo = ParseJson(response->body, "echo", "T").value();
  EXPECT_EQ(echo["method"].get<std::string>(), "POST");
  EXPECT_EQ(echo["target"].get<std::string>(), "/echo?x=1");
  EXPECT_EQ(echo["headers"]["X-Amz-Target"].get<std::string>(), "secretsmanager.GetSecretValue");
  EXPECT_EQ(echo["headers"]["Host"].get<std::string>(), "127.0.0.1:" + server_->Url("").substr(17));
  EXPECT_EQ(echo["headers"]["Content-Length"].get<std::string>(),
            std::to_string(request.body.size()));
  EXPECT_EQ(echo["body"].get<std::string>(), "{\"a\":\"\xc3\xbc\"}");
}

TEST_F(HttpClientTest, ReadsChunkedCloseDelimitedAndInterimResponses) {
  EXPECT_EQ(Get("/chunked")->body, "hello, chunked world");
  EXPECT_EQ(Get("/close-delimited")->body, "until the end");
  Result<Response> interim = Get("/interim");
  ASSERT_TRUE(interim.ok());
  EXPECT_EQ(interim->status, 200);
  EXPECT_EQ(interim->body, "after interim");
}

TEST_F(HttpClientTest, KeepsOneConnectionAliveAcrossRequests) {
  const int before = Connections();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(Get("/echo").ok());
  EXPECT_EQ(Connections(), before) << "every request used the same connection";
}

TEST_F(HttpClientTest, ResendsOnANewConnectionWhenTheKeptOneWasClosed) {
  ASSERT_EQ(Get("/echo")->status, 200);
  ASSERT_EQ(Get("/then-close")->body, "closing");
  // The server closed the connection after answering; the client still
  // thinks it is alive, finds out on the next request, and resends.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  Result<Response> next = Get("/echo");
  ASSERT_TRUE(next.ok()) << next.status().message();
  EXPECT_EQ(next->status, 200);
}

TEST_F(HttpClientTest, ATimeoutIsADeadlineError) {
  Result<Response> slow = Get("/slow?ms=2000", std::chrono::milliseconds(300));
  ASSERT_FALSE(slow.ok());
  EXPECT_EQ(slow.status().type(), "Timeout");
  EXPECT_EQ(slow.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_TRUE(Get("/echo").ok()) << "the client recovers";
}

TEST_F(HttpClientTest, BrokenResponsesAreConnectionErrors) {
  for (const char* path : {"/truncated", "/garbage"}) {
    Result<Response> broken = Get(path);
    ASSERT_FALSE(broken.ok()) << path;
    EXPECT_EQ(broken.status().type(), "ConnectionError") << path;
    EXPECT_EQ(broken.status().code(), StatusCode::kUnavailable) << path;
  }
}

TEST_F(HttpClientTest, ARefusedConnectionIsAConnectionError) {
  Request request;
  request.url = "http://127.0.0.1:" + std::to_string(testing::FreeLoopbackPort()) + "/";
  request.timeout = std::chrono::seconds(2);
  Result<Response> refused = client_->Send(request);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().type(), "ConnectionError");
  EXPECT_NE(refused.status().message().find("Failed to connect to 127.0.0.1"), std::string::npos)
      << refused.status().message();
}

TEST_F(HttpClientTest, RefusesHeaderInjectionAndBadUrls) {
  Request request;
  request.url = server_->Url("/echo");
  request.headers = {{"X-Evil", "a\r\nHost: elsewhere"}};
  EXPECT_EQ(client_->Send(request).status().type(), "InvalidHeader");
  request.headers.clear();
  request.url = "ftp://127.0.0.1/";
  EXPECT_EQ(client_->Send(request).status().type(), "InvalidUrl");
  request.url = "http://user@127.0.0.1/";
  EXPECT_EQ(client_->Send(request).status().type(), "InvalidUrl");
}

// HTTPS with certificates from a throwaway CA.
class HttpsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("https_test");
    const auto made = testing::RunProcess(
        {"/bin/bash", std::string(SOURCE_DIR) + "/tests/servers/make_tls.sh", dir_ + "/tls"});
    ASSERT_EQ(made.exit_code, 0) << made.err;
    // A certificate from the same CA for another name, for the host check.
    const std::string tls = dir_ + "/tls";
    ASSERT_TRUE(testing::IssueServerCertificate(tls, "wrong.example", "wrong"));
  }
  void TearDown() override {
    ::unsetenv("SSL_CERT_FILE");
    std::filesystem::remove_all(dir_);
  }
  static void WriteFile(const std::string& path, const std::string& text) {
    testing::WriteFile(path, text);
  }

  Result<Response> Get(const TestServer& server, const std::string& ca, const std::string& host) {
    ::setenv("SSL_CERT_FILE", ca.c_str(), 1);
    std::unique_ptr<Client> client = NewClient().value();
    Request request;
    request.url = server.Url("/echo", "https", host);
    request.timeout = std::chrono::seconds(5);
    return client->Send(request);
  }

  std::string dir_;
};

TEST_F(HttpsTest, VerifiesTheChainAndTheHostName) {
  const std::string tls = dir_ + "/tls";
  TestServer server(dir_, {"--tls-cert", tls + "/server.pem", "--tls-key", tls + "/server.key"});
  Result<Response> by_ip = Get(server, tls + "/ca.pem", "127.0.0.1");
  ASSERT_TRUE(by_ip.ok()) << by_ip.status().message();
  EXPECT_EQ(by_ip->status, 200);
  Result<Response> by_name = Get(server, tls + "/ca.pem", "localhost");
  ASSERT_TRUE(by_name.ok()) << by_name.status().message();

  Result<Response> other_ca = Get(server, tls + "/other-ca.pem", "127.0.0.1");
  ASSERT_FALSE(other_ca.ok());
  EXPECT_EQ(other_ca.status().type(), "TlsError");
  EXPECT_NE(other_ca.status().message().find("did not verify"), std::string::npos)
      << other_ca.status().message();
}

TEST_F(HttpsTest, RefusesACertificateForAnotherName) {
  const std::string tls = dir_ + "/tls";
  TestServer server(dir_, {"--tls-cert", tls + "/wrong.pem", "--tls-key", tls + "/wrong.key"});
  for (const char* host : {"127.0.0.1", "localhost"}) {
    Result<Response> response = Get(server, tls + "/ca.pem", host);
    ASSERT_FALSE(response.ok()) << host;
    EXPECT_EQ(response.status().type(), "TlsError") << host;
    EXPECT_NE(response.status().message().find("target host name"), std::string::npos)
        << response.status().message();
  }
}

TEST_F(HttpsTest, AMissingCaBundleIsAClearError) {
  const std::string tls = dir_ + "/tls";
  TestServer server(dir_, {"--tls-cert", tls + "/server.pem", "--tls-key", tls + "/server.key"});
  Result<Response> response = Get(server, dir_ + "/no-such-ca.pem", "127.0.0.1");
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().type(), "TlsError");
  EXPECT_NE(response.status().message().find("cannot load the CA bundle"), std::string::npos);
}

}  // namespace
}  // namespace secret_rotator::http
