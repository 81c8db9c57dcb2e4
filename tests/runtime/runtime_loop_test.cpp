// The Runtime API loop against a scripted HTTP client.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <deque>
#include <optional>
#include <sstream>

#include "base/json.h"
#include "base/log.h"
#include "runtime/runtime.h"

namespace secret_rotator::runtime {
namespace {

class ScriptedClient : public http::Client {
 public:
  // Answers requests in order; when the script runs out, connections fail.
  std::deque<Result<http::Response>> script;
  std::vector<http::Request> sent;

  Result<http::Response> Send(const http::Request& request) override {
    sent.push_back(request);
    if (script.empty()) {
      return Status(StatusCode::kUnavailable, "ConnectionError", "connection refused");
    }
    Result<http::Response> next = std::move(script.front());
    script.pop_front();
    return next;
  }
};

http::Response NextInvocation(const std::string& id, const std::string& body,
                              const std::string& trace = "") {
  http::Response response;
  response.status = 200;
  response.body = body;
  response.headers = {{"Lambda-Runtime-Aws-Request-Id", id},
                      {"Lambda-Runtime-Deadline-Ms", "4102444800000"},
                      {"Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:x"}};
  if (!trace.empty()) response.headers.push_back({"Lambda-Runtime-Trace-Id", trace});
  return response;
}

http::Response Accepted() {
  http::Response response;
  response.status = 202;
  return response;
}

class RuntimeLoopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ConfigureLogging({}, [](std::string_view) {});
  }
  void TearDown() override { ConfigureLogging({}); }
  RuntimeOptions Options() {
    RuntimeOptions options;
    options.api_address = "127.0.0.1:9001";
    options.next_attempts = 3;
    options.next_retry_delay = std::chrono::milliseconds(1);
    return options;
  }
};

TEST_F(RuntimeLoopTest, PostsResponsesAndErrorsForEachInvocation) {
  ScriptedClient client;
  client.script.push_back(NextInvocation("req-1", "{\"ok\":true}", "Root=1-abc"));
  client.script.push_back(Accepted());
  client.script.push_back(NextInvocation("req-2", "{\"ok\":false}"));
  client.script.push_back(Accepted());
  std::vector<std::string> seen_traces;
  const int exit_code = RunRuntimeLoop(client, Options(), [&](const Invocation& invocation) {
    const char* trace = std::getenv("_X_AMZN_TRACE_ID");
    seen_traces.push_back(trace == nullptr ? "(unset)" : trace);
    EXPECT_GT(invocation.deadline.Remaining().count(), 1000);
    EXPECT_EQ(invocation.function_arn, "arn:aws:lambda:x");
    if (invocation.payload == "{\"ok\":true}") return InvocationResponse::Success("{\"done\":1}");
    return InvocationResponse::Failure("InvalidEvent", "bad \"event\"");
  });
  EXPECT_EQ(exit_code, 1) << "the loop ends only when the Runtime API goes away";
  EXPECT_EQ(seen_traces, (std::vector<std::string>{"Root=1-abc", "(unset)"}));

  ASSERT_GE(client.sent.size(), 4u);
  EXPECT_EQ(client.sent[0].method, "GET");
  EXPECT_EQ(client.sent[0].url, "http://127.0.0.1:9001/2018-06-01/runtime/invocation/next");
  EXPECT_EQ(client.sent[0].timeout.count(), 0) << "the long poll has no timeout";
  EXPECT_EQ(client.sent[1].url,
            "http://127.0.0.1:9001/2018-06-01/runtime/invocation/req-1/response");
  EXPECT_EQ(client.sent[1].body, "{\"done\":1}");
  EXPECT_EQ(client.sent[3].url, "http://127.0.0.1:9001/2018-06-01/runtime/invocation/req-2/error");
  const JsonValue error = ParseJson(client.sent[3].body, "error", "T").value();
  EXPECT_EQ(error["errorType"].get<std::string>(), "InvalidEvent");
  EXPECT_EQ(error["errorMessage"].get<std::string>(), "bad \"event\"");
  EXPECT_TRUE(error["stackTrace"].is_array());
  bool has_type_header = false;
  for (const http::Header& header : client.sent[3].headers) {
    has_type_header |=
        header.name == "Lambda-Runtime-Function-Error-Type" && header.value == "InvalidEvent";
  }
  EXPECT_TRUE(has_type_header);
}

TEST_F(RuntimeLoopTest, RetriesATransientNextFailureThenGivesUp) {
  ScriptedClient client;
  client.script.push_back(Status(StatusCode::kUnavailable, "ConnectionError", "reset"));
  client.script.push_back(NextInvocation("req-1", "{}"));
  client.script.push_back(Accepted());
  int handled = 0;
  const int exit_code = RunRuntimeLoop(client, Options(), [&](const Invocation&) {
    ++handled;
    return InvocationResponse::Success("null");
  });
  EXPECT_EQ(handled, 1) << "one failure is retried";
  EXPECT_EQ(exit_code, 1);
  // 1 failed next + 1 next + 1 post + 3 failed nexts.
  EXPECT_EQ(client.sent.size(), 6u);
}

TEST_F(RuntimeLoopTest, AnInvocationWithoutARequestIdIsNotHandled) {
  ScriptedClient client;
  http::Response broken;
  broken.status = 200;
  client.script.push_back(broken);
  int handled = 0;
  EXPECT_EQ(RunRuntimeLoop(client, Options(),
                           [&](const Invocation&) {
                             ++handled;
                             return InvocationResponse::Success("null");
                           }),
            1);
  EXPECT_EQ(handled, 0);
}

TEST_F(RuntimeLoopTest, ARefusedResponseIsReportedAsAnError) {
  ScriptedClient client;
  client.script.push_back(NextInvocation("req-1", "{}"));
  http::Response too_large;
  too_large.status = 413;
  client.script.push_back(too_large);
  client.script.push_back(Accepted());
  (void)RunRuntimeLoop(client, Options(),
                       [&](const Invocation&) { return InvocationResponse::Success("{}"); });
  ASSERT_GE(client.sent.size(), 3u);
  EXPECT_EQ(client.sent[2].url, "http://127.0.0.1:9001/2018-06-01/runtime/invocation/req-1/error");
}

// The deadline the handler sees for a given Lambda-Runtime-Deadline-Ms.
std::optional<std::chrono::milliseconds> HandlerTimeFor(const std::string& header,
                                                        const RuntimeOptions& options) {
  ScriptedClient client;
  http::Response next = NextInvocation("req-1", "{}");
  next.headers[1].value = header;
  client.script.push_back(next);
  client.script.push_back(Accepted());
  std::optional<std::chrono::milliseconds> seen;
  (void)RunRuntimeLoop(client, options, [&](const Invocation& invocation) {
    seen = invocation.deadline.Remaining();
    return InvocationResponse::Success("{}");
  });
  return seen;
}

TEST_F(RuntimeLoopTest, ADeadlineOutOfRangeIsCappedAtFifteenMinutesNotExpired) {
  using std::chrono::minutes;
  for (const char* header :
       {"9223372036854775807", "99999999999999999999", "-99999999999999999999", "4102444800000"}) {
    const std::optional<std::chrono::milliseconds> left = HandlerTimeFor(header, Options());
    ASSERT_TRUE(left.has_value()) << header;
    EXPECT_GT(*left, minutes(14)) << header;
    EXPECT_LE(*left, minutes(15)) << header;
  }
  EXPECT_FALSE(HandlerTimeFor("12ab", Options()).has_value()) << "not a number: not handled";
  EXPECT_FALSE(HandlerTimeFor("", Options()).has_value());
}

TEST_F(RuntimeLoopTest, TheHandlerStopsBeforeLambdasDeadlineToReportItsOutcome) {
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  RuntimeOptions options = Options();
  options.report_reserve = std::chrono::milliseconds(1500);
  const std::optional<std::chrono::milliseconds> left =
      HandlerTimeFor(std::to_string(now_ms + 20000), options);
  ASSERT_TRUE(left.has_value());
  EXPECT_LE(left->count(), 18500);
  EXPECT_GT(left->count(), 17000);
  // A short invocation keeps at most a quarter of its time for the report.
  EXPECT_EQ(ReportReserve(std::chrono::milliseconds(2000), std::chrono::milliseconds(1500)),
            std::chrono::milliseconds(500));
  EXPECT_EQ(ReportReserve(std::chrono::milliseconds(60000), std::chrono::milliseconds(1500)),
            std::chrono::milliseconds(1500));
}

TEST_F(RuntimeLoopTest, ReportInitErrorPostsTheErrorBody) {
  ScriptedClient client;
  client.script.push_back(Accepted());
  ASSERT_TRUE(
      ReportInitError(client, "127.0.0.1:9001", "Runtime.ConfigurationError", "no region").ok());
  ASSERT_EQ(client.sent.size(), 1u);
  EXPECT_EQ(client.sent[0].url, "http://127.0.0.1:9001/2018-06-01/runtime/init/error");
  EXPECT_EQ(ParseJson(client.sent[0].body, "e", "T").value()["errorMessage"].get<std::string>(),
            "no region");
}

TEST(RunLocalInvocation, PrintsThePayloadOrTheErrorBodyAndReturnsTheExitCode) {
  std::ostringstream out;
  Invocation invocation;
  invocation.payload = "{}";
  EXPECT_EQ(RunLocalInvocation(
                invocation,
                [](const Invocation&) { return InvocationResponse::Success("{\"r\":1}"); }, out),
            0);
  EXPECT_EQ(out.str(), "{\"r\":1}\n");
  out.str("");
  EXPECT_EQ(
      RunLocalInvocation(
          invocation, [](const Invocation&) { return InvocationResponse::Failure("T", "m"); }, out),
      1);
  EXPECT_EQ(out.str(), "{\"errorMessage\":\"m\",\"errorType\":\"T\",\"stackTrace\":[]}\n");
}

}  // namespace
}  // namespace secret_rotator::runtime
