// Blocking library calls, run on threads of the addon's own and settled as
// promises on the JS thread.
//
// Not on libuv's thread pool (Napi::AsyncWorker): it has four threads, and
// four long calls (a server started with exec, an acquire that waits)
// would hold all of them and stall every fs and dns call of the process.
#pragma once
#include <napi.h>

#include <functional>
#include <memory>
#include <string>

#include "guard.h"

namespace sm_node {

// Queue a call: run() on a runner thread, the library call; a negative
// errno return is a failure, whose sentence is read at once, on the thread
// that failed, and the promise rejects with the library's error
// (errors.h). Otherwise it settles on the JS thread with value(env)
// (undefined without one; value may throw a Napi::Error). With a guard,
// the call holds a lease on its handle from now until run has returned,
// and a closed handle rejects at once with the guard's own error.
//
// after(), if given, runs on the same thread once run has succeeded and
// its settle is posted: the rest of a call that answers before it is done
// (a spawned command's wait), which so cannot be refused a thread; Node
// runs on until it returns.
Napi::Promise Submit(Napi::Env env, std::shared_ptr<Guard> guard, std::function<int()> run,
                     std::function<Napi::Value(Napi::Env)> value = nullptr,
                     std::function<void()> after = nullptr);

// A promise settled now, for a call with nothing left to run: resolved
// with undefined, or rejected with a closed guard's error.
Napi::Promise Settled(Napi::Env env, Guard *closed = nullptr);

// Runs fn on the JS thread soon, after everything posted or settled
// before it; callable from any thread. false (and fn dropped) once Node
// is tearing the environment down: then nothing reaches JS any more.
using Post = std::function<bool(std::function<void(Napi::Env)> fn)>;
Post Poster(Napi::Env env);

// Whether the environment is going away (a thread waiting for JS stops).
using Closing = std::function<bool()>;
Closing ClosingFlag(Napi::Env env);

// For a Run that fails on the binding's own account: returns err (negative)
// and makes sentence the message, in place of sm_last_error()'s.
int Fail(int err, std::string sentence);

// Made once per environment, by addon.cc.
void StartRunner(Napi::Env env);

}  // namespace sm_node
