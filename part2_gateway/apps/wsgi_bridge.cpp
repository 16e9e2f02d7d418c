// part2_gateway/apps/wsgi_bridge.cpp: real Python web apps (Flask, Django, Pyramid) on the C++
// servers. A gateway app like any other, which embeds the Python interpreter, as mod_wsgi and
// uWSGI do, and turns each call of the gateway interface into a call of a WSGI app (PEP 3333):
// the environ becomes a dict, start_response and write become Python callables, and the
// iterable the app returns becomes the body.
//
//   make part2
//   ./part2/server part2/wsgi.so part2_gateway/python/flaskapp:app
//   curl localhost:8888/hello
//
// The ARGUMENT after APP names the WSGI app: [DIR/]MODULE[:CALLABLE]. MODULE is imported as
// `import MODULE` would, looking first in DIR (if given), then in the server's current
// directory, then on PYTHONPATH, then in Python's own directories (where Debian's python3-flask
// and the like are installed). CALLABLE defaults to `application`, the name Django (and
// mod_wsgi) use. A trailing ".py" on MODULE is dropped, so a file name works too.
//
// NOTES.md, Part 2, "Real frameworks through the bridge", walks through it. Needs Python 3.10+.

// ---- includes --------------------------------------------------------------------------------
// Python.h first: it sets macros that the system headers must see.
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <dlfcn.h>
#include <pthread.h>

#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/gateway_abi.h"

#if PY_VERSION_HEX < 0x030A0000
#error "the WSGI bridge needs Python 3.10 or later"
#endif

// The python3 program whose libpython this file is linked with (the Makefile passes it). Python
// finds its standard library and site-packages next to it, and it becomes sys.executable.
#ifndef BRIDGE_PYTHON
#define BRIDGE_PYTHON "/usr/bin/python3"
#endif

// Whether this file is built with AddressSanitizer: GCC says so with a macro, Clang with a feature.
#if defined(__SANITIZE_ADDRESS__)
#define BRIDGE_UNDER_ASAN 1
#elif defined(__has_feature)
#define BRIDGE_UNDER_ASAN __has_feature(address_sanitizer)
#else
#define BRIDGE_UNDER_ASAN 0
#endif

namespace {

// ---- Python objects from C++ -----------------------------------------------------------------
// An owned reference to a Python object, released (Py_XDECREF) when it goes out of scope, as
// UniqueFd closes its descriptor. Most C-API functions return a new reference, or nullptr with a
// Python exception set: PyRef takes either as it is. Use only while holding the GIL.
class PyRef {
 public:
  PyRef() = default;
  explicit PyRef(PyObject* owned) noexcept : object_(owned) {}
  PyRef(PyRef&& other) noexcept : object_(other.release()) {}
  PyRef& operator=(PyRef&& other) noexcept {
    std::swap(object_, other.object_);  // our old object is released with `other`
    return *this;
  }
  PyRef(const PyRef&) = delete;
  PyRef& operator=(const PyRef&) = delete;
  ~PyRef() { Py_XDECREF(object_); }

  // A borrowed reference (one the C-API lends, without giving it), made an owned one.
  static PyRef borrow(PyObject* borrowed) noexcept {
    Py_XINCREF(borrowed);
    return PyRef(borrowed);
  }
  PyObject* get() const noexcept { return object_; }
  explicit operator bool() const noexcept { return object_ != nullptr; }
  // Give up ownership without releasing: the caller now owns the reference.
  PyObject* release() noexcept { return std::exchange(object_, nullptr); }

 private:
  PyObject* object_ = nullptr;
};

// Holds the GIL, Python's global interpreter lock, for as long as it lives. Any use of Python
// needs it; init() lets go of it, so that whichever process serves a request takes it then.
class GilGuard {
 public:
  GilGuard() noexcept : state_(PyGILState_Ensure()) {}
  ~GilGuard() { PyGILState_Release(state_); }
  GilGuard(const GilGuard&) = delete;
  GilGuard& operator=(const GilGuard&) = delete;

 private:
  PyGILState_STATE state_;
};

// Run `body`, the work of a function that Python calls, turning a C++ exception into a Python
// one: neither kind of exception may unwind through the other language's frames. Returns what
// `body` returns, or nullptr (false) with a Python exception set.
template <typename Body>
auto python_call(Body body) -> decltype(body()) {
  try {
    return body();
  } catch (const std::exception& e) {
    PyErr_Format(PyExc_RuntimeError, "in the WSGI bridge: %s", e.what());
  } catch (...) {
    PyErr_SetString(PyExc_RuntimeError, "in the WSGI bridge: an unknown C++ exception");
  }
  return {};
}

// The exception being raised, taken from the interpreter, which then has none set.
PyRef take_exception() {
#if PY_VERSION_HEX >= 0x030C0000
  return PyRef(PyErr_GetRaisedException());
#else
  PyObject *type, *value, *traceback;
  PyErr_Fetch(&type, &value, &traceback);
  PyErr_NormalizeException(&type, &value, &traceback);
  if (value != nullptr && traceback != nullptr) PyException_SetTraceback(value, traceback);
  Py_XDECREF(type);
  Py_XDECREF(traceback);
  return PyRef(value);
#endif
}

// str(object) as UTF-8 (what cannot be encoded escaped), or a placeholder if even that fails.
std::string to_utf8(PyObject* object) {
  PyRef text(object ? PyObject_Str(object) : nullptr);
  PyRef bytes(text ? PyUnicode_AsEncodedString(text.get(), "utf-8", "backslashreplace") : nullptr);
  if (!bytes) {
    PyErr_Clear();
    return "(unprintable)";
  }
  return std::string(PyBytes_AS_STRING(bytes.get()), PyBytes_GET_SIZE(bytes.get()));
}

// "ValueError: the message", as the last line of a traceback says it.
std::string describe(PyObject* exception) {
  if (exception == nullptr) return "an unknown error";
  std::string text = Py_TYPE(exception)->tp_name;
  std::string message = to_utf8(exception);
  return message.empty() ? text : text + ": " + message;
}

// A Python str as the bytes WSGI means by it: each character one byte (latin-1, PEP 3333).
// False, with a Python exception set, for a character above U+00FF.
bool latin1(PyObject* text, std::string& out) {
  PyRef bytes(PyUnicode_AsLatin1String(text));
  if (!bytes) return false;
  out.assign(PyBytes_AS_STRING(bytes.get()), PyBytes_GET_SIZE(bytes.get()));
  return true;
}

std::string_view bytes_of(PyObject* bytes) {
  return {PyBytes_AS_STRING(bytes), static_cast<std::size_t>(PyBytes_GET_SIZE(bytes))};
}

// ---- the interpreter: started once, by init() ------------------------------------------------
// The WSGI app to serve, found by init(). Never released: like the bridge itself, which the
// server never dlclose()s, it lives as long as the server.
PyObject* g_wsgi_app = nullptr;

// What ARGUMENT names: [DIR/]MODULE[:CALLABLE].
struct AppSpec {
  std::string directory;  // empty: none given
  std::string module;
  std::string callable = "application";
};

// ARGUMENT taken apart; false if it names no module or no callable.
bool parse_spec(std::string_view text, AppSpec& spec) {
  std::size_t colon = text.rfind(':');
  if (colon != std::string_view::npos && text.find('/', colon) == std::string_view::npos) {
    spec.callable = text.substr(colon + 1);
    text = text.substr(0, colon);
  }
  std::size_t slash = text.rfind('/');
  if (slash != std::string_view::npos) {
    spec.directory = slash == 0 ? "/" : text.substr(0, slash);
    text = text.substr(slash + 1);
  }
  if (text.ends_with(".py")) text.remove_suffix(3);
  spec.module = text;
  return !spec.module.empty() && !spec.callable.empty();
}

// Start the interpreter, as the python3 program would start but leaving signals to the server.
// Returns an error message, or "" once Python runs (and this thread holds the GIL).
std::string start_python() {
  // The server loaded this file with RTLD_LOCAL, and libpython along with it: Python's symbols
  // are visible to this file alone. Python's C extension modules (_json, _ctypes, ...) expect to
  // find them in the process's global scope, where the python3 program has them: put them there.
  // RTLD_NOLOAD: libpython is loaded already (it holds Py_None); this only changes its scope.
  Dl_info libpython;
  bool found = dladdr(Py_None, &libpython) != 0;
  if (!found || dlopen(libpython.dli_fname, RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD) == nullptr) {
    return "cannot make libpython's symbols global, which Python's C modules need";
  }

  PyPreConfig preconfig;
  PyPreConfig_InitPythonConfig(&preconfig);
#if BRIDGE_UNDER_ASAN
  // Built with AddressSanitizer (make SANITIZE=1): Python's objects go through malloc, where the
  // sanitizer sees them, rather than Python's own allocator, which carves small objects out of
  // memory maps it does not check. ASan then catches a use of a freed object (a reference the
  // bridge dropped too early), and LeakSanitizer, which finds pointers only in memory it knows,
  // no longer takes every Python object still in use at exit for a leak.
  preconfig.allocator = PYMEM_ALLOCATOR_MALLOC;
#endif
  if (PyStatus status = Py_PreInitialize(&preconfig); PyStatus_Exception(status)) {
    return std::string("cannot start Python: ") + (status.err_msg ? status.err_msg : "unknown error");
  }

  PyConfig config;
  PyConfig_InitPythonConfig(&config);  // as python3: PYTHONPATH and the like are honoured
  config.install_signal_handlers = 0;  // SIGINT, SIGPIPE and the rest stay the server's business
  config.buffered_stdio = 0;           // print() reaches the log at once, as with python3 -u
  // Left to itself, Python would look for "python3" on PATH to find its own files, and PATH may
  // lead to another installation (pyenv, a venv) than the one whose libpython this is.
  PyStatus status = PyConfig_SetBytesString(&config, &config.program_name, BRIDGE_PYTHON);
  if (!PyStatus_Exception(status)) status = Py_InitializeFromConfig(&config);
  PyConfig_Clear(&config);
  if (PyStatus_Exception(status)) {
    return std::string("cannot start Python: ") + (status.err_msg ? status.err_msg : "unknown error");
  }
  return "";
}

// " (at path/to/file.py:12)": the innermost place in a Python file where `exception` went
// through, or "" (importlib's own frames are "<frozen ...>", not files).
std::string where_raised(PyObject* exception) {
  std::string where;
  PyRef traceback(exception ? PyException_GetTraceback(exception) : nullptr);
  while (traceback && traceback.get() != Py_None) {
    PyRef frame(PyObject_GetAttrString(traceback.get(), "tb_frame"));
    PyRef code(frame ? PyObject_GetAttrString(frame.get(), "f_code") : nullptr);
    PyRef file(code ? PyObject_GetAttrString(code.get(), "co_filename") : nullptr);
    PyRef line(file ? PyObject_GetAttrString(traceback.get(), "tb_lineno") : nullptr);
    if (!line) break;
    std::string name = to_utf8(file.get());
    if (!name.starts_with("<")) where = " (at " + name + ":" + to_utf8(line.get()) + ")";
    traceback = PyRef(PyObject_GetAttrString(traceback.get(), "tb_next"));
  }
  PyErr_Clear();
  return where;
}

// Import the module `spec` names and find its callable, looking in spec.directory and the
// current directory first. Returns an error message, or "" with g_wsgi_app set.
std::string import_app(const AppSpec& spec) {
  // sys.path: what `import` searches, in order. python3 script.py puts the script's directory
  // first; here DIR and the current directory go first, then PYTHONPATH and Python's own.
  std::vector<std::filesystem::path> first = {std::filesystem::current_path()};
  if (!spec.directory.empty()) first.insert(first.begin(), std::filesystem::absolute(spec.directory));
  PyObject* path = PySys_GetObject("path");  // borrowed
  std::string searched;
  for (std::size_t i = 0; i < first.size(); ++i) {
    PyRef entry(PyUnicode_DecodeFSDefault(first[i].c_str()));
    auto index = static_cast<Py_ssize_t>(i);
    if (!entry || path == nullptr || PyList_Insert(path, index, entry.get()) != 0)
      return "cannot set sys.path";
    searched += (i == 0 ? "" : ", ") + first[i].string();
  }

  PyRef module(PyImport_ImportModule(spec.module.c_str()));
  if (!module) {
    PyRef exception = take_exception();
    return "cannot import " + spec.module + ": " + describe(exception.get()) + where_raised(exception.get()) +
           " (searched " + searched + ", then PYTHONPATH and Python's own directories)";
  }
  PyRef app(PyObject_GetAttrString(module.get(), spec.callable.c_str()));
  if (!app) {
    PyRef exception = take_exception();
    PyRef file(PyObject_GetAttrString(module.get(), "__file__"));
    PyErr_Clear();
    return "no WSGI app " + spec.module + ":" + spec.callable + ": " + describe(exception.get()) + " (in " +
           to_utf8(file.get()) + ")";
  }
  if (!PyCallable_Check(app.get())) {
    return spec.module + ":" + spec.callable + " is a " + Py_TYPE(app.get())->tp_name +
           ", not a callable WSGI app";
  }
  g_wsgi_app = app.release();
  return "";
}

// ---- fork: stages 5 and 6 --------------------------------------------------------------------
// Stages 5 and 6 fork a child per connection after init(), and the child calls into Python.
// fork() copies the calling thread alone: a lock another thread holds at that moment stays held
// in the child, by nobody, for ever. If the app started a thread that was running Python, the
// GIL is such a lock, and the child would wait for it for ever. The child also needs what Python
// does after its own os.fork(): reset its locks, forget the threads that did not come along, and
// run the os.register_at_fork() hooks (`random` reseeds itself there: without that, every child
// would draw the same "random" numbers).
// os.fork() calls PyOS_BeforeFork() before fork() and PyOS_AfterFork_Child() (or _Parent())
// after, holding the GIL throughout. The server's fork() is plain C, so the bridge does the same
// around it with pthread_atfork(): before the fork, take the GIL (waiting for any thread running
// Python to let go) and call PyOS_BeforeFork(); after it, in each process, call the matching
// PyOS_AfterFork_*() and let go of the GIL. A fork made from Python code, by a thread holding
// the GIL, is left alone: os.fork() does this work itself.
bool g_server_fork = false;  // before_fork() prepared Python for this fork
PyGILState_STATE g_fork_gil;

void before_fork() {
  if (PyGILState_Check()) return;  // a fork by Python code, which holds the GIL
  g_fork_gil = PyGILState_Ensure();
  PyOS_BeforeFork();
  g_server_fork = true;
}

void after_fork_in_parent() {
  if (!std::exchange(g_server_fork, false)) return;
  PyOS_AfterFork_Parent();
  PyGILState_Release(g_fork_gil);
}

void after_fork_in_child() {
  if (!std::exchange(g_server_fork, false)) return;
  PyOS_AfterFork_Child();
  PyGILState_Release(g_fork_gil);
}

// init(): start Python, import the app, and let go of the GIL. Returns an error message or "".
std::string start_bridge(const char* argument) {
  AppSpec spec;
  if (argument == nullptr) return "the WSGI bridge needs the app to serve: wsgi.so [DIR/]MODULE[:CALLABLE]";
  if (!parse_spec(argument, spec)) return std::string("'") + argument + "' is not [DIR/]MODULE[:CALLABLE]";
  if (std::string error = start_python(); !error.empty()) return error;
  if (std::string error = import_app(spec); !error.empty()) return error;
  if (int error = pthread_atfork(before_fork, after_fork_in_parent, after_fork_in_child); error != 0) {
    return std::string("pthread_atfork: ") + std::strerror(error);
  }
  // Py_InitializeFromConfig() left this thread holding the GIL; requests take it when they need it.
  PyEval_SaveThread();
  return "";
}

// ---- one request -----------------------------------------------------------------------------
// What the bridge knows of the request it serves. The Python callables it hands the app reach it
// through a capsule (a Python object holding a C pointer), so it lives on the heap for as long as
// Python holds a reference; `call` is cleared when the request ends, so that an app that kept
// start_response or write and calls it later gets an exception, not a dangling pointer.
struct Exchange {
  const gateway_call* call = nullptr;  // the server's side of this request, while it lasts
  bool started = false;                // start_response has been called
  bool headers_sent = false;           // the status and headers have gone to the server: final
  std::string status;                  // as given to start_response, latin-1 encoded
  std::vector<std::pair<std::string, std::string>> headers;
  std::string partial_log_line;  // what wsgi.errors was given after its last newline
};

constexpr const char* kCapsuleName = "wsgi_bridge.Exchange";

void delete_exchange(PyObject* capsule) {
  delete static_cast<Exchange*>(PyCapsule_GetPointer(capsule, kCapsuleName));
}

// A capsule owning a new Exchange for `call`, or nullptr with a Python exception set.
PyRef new_exchange(const gateway_call* call) {
  auto exchange = std::make_unique<Exchange>();
  exchange->call = call;
  PyRef capsule(PyCapsule_New(exchange.get(), kCapsuleName, delete_exchange));
  if (capsule) exchange.release();  // the capsule owns it now
  return capsule;
}

// The Exchange in `capsule`, or nullptr with a Python exception set if its request is over.
Exchange* exchange_of(PyObject* capsule) {
  auto* exchange = static_cast<Exchange*>(PyCapsule_GetPointer(capsule, kCapsuleName));
  if (exchange != nullptr && exchange->call == nullptr) {
    PyErr_SetString(PyExc_RuntimeError, "the request this belongs to is over");
    return nullptr;
  }
  return exchange;
}

void log_line(const Exchange& exchange, const std::string& line) {
  exchange.call->log_error(exchange.call->server, line.c_str());
}

// Log the exception being raised as Python prints it (the traceback, then "Type: message"),
// one log_error per line, and clear it: the server goes on serving.
void log_exception(const Exchange& exchange) {
  PyRef exception = take_exception();
  PyRef traceback_module(PyImport_ImportModule("traceback"));
  PyRef lines(traceback_module ? PyObject_CallMethod(traceback_module.get(), "format_exception", "O",
                                                     exception ? exception.get() : Py_None)
                               : nullptr);
  if (!lines || !PyList_Check(lines.get())) {
    PyErr_Clear();
    log_line(exchange, describe(exception.get()));
    return;
  }
  // Each item is one or more lines: "  File ..., line 3, in view\n    return 1 / 0\n".
  for (Py_ssize_t i = 0; i < PyList_GET_SIZE(lines.get()); ++i) {
    std::string text = to_utf8(PyList_GET_ITEM(lines.get(), i));
    for (std::size_t start = 0, end; start < text.size(); start = end + 1) {
      end = text.find('\n', start);
      if (end == std::string::npos) end = text.size();
      if (end > start) log_line(exchange, text.substr(start, end - start));
    }
  }
}

// Hand the status and headers to the server. From then on they are final: this is what "the
// headers have been sent" means here (PEP 3333), although the server sends nothing at all
// until the app has finished. False, with a Python exception set, if the server refuses them.
bool send_headers(Exchange& exchange) {
  exchange.headers_sent = true;
  std::vector<gateway_pair> pairs;
  for (const auto& [name, value] : exchange.headers) {
    pairs.push_back({{name.data(), name.size()}, {value.data(), value.size()}});
  }
  const gateway_call& call = *exchange.call;
  if (call.start_response(call.server, exchange.status.c_str(), pairs.data(), pairs.size()) != 0) {
    PyErr_SetString(PyExc_RuntimeError, "the server refused the status or headers (its log says why)");
    return false;
  }
  return true;
}

// Body bytes to the server, the headers first if these are the first. An empty piece sends
// nothing, not even the headers (PEP 3333). False, with a Python exception set, on failure.
bool send_body(Exchange& exchange, std::string_view bytes) {
  if (bytes.empty()) return true;
  if (!exchange.started) {
    PyErr_SetString(PyExc_RuntimeError, "the app gave body bytes before calling start_response");
    return false;
  }
  if (!exchange.headers_sent && !send_headers(exchange)) return false;
  if (exchange.call->write(exchange.call->server, bytes.data(), bytes.size()) != 0) {
    PyErr_SetString(PyExc_RuntimeError, "the server refused the body (its log says why)");
    return false;
  }
  return true;
}

// write(data): the callable start_response returns, for apps that push their body rather than
// return it (PEP 3333 keeps it for old frameworks). Bytes only.
PyObject* write_body(PyObject* capsule, PyObject* data) {
  return python_call([&]() -> PyObject* {
    Exchange* exchange = exchange_of(capsule);
    if (exchange == nullptr) return nullptr;
    if (!PyBytes_Check(data)) {
      return PyErr_Format(PyExc_TypeError, "write() takes bytes, not %.100s", Py_TYPE(data)->tp_name);
    }
    if (!send_body(*exchange, bytes_of(data))) return nullptr;
    Py_RETURN_NONE;
  });
}

PyMethodDef write_method = {"write", write_body, METH_O, "write(data): append bytes to the response body"};

// A header as start_response gets it, a tuple (name, value) of two str, as bytes. False, with a
// Python exception set, if it is anything else.
bool header_bytes(PyObject* header, std::pair<std::string, std::string>& out) {
  if (!PyTuple_Check(header) || PyTuple_GET_SIZE(header) != 2) {
    PyErr_Format(PyExc_TypeError, "a header must be a tuple (name, value), not %R", header);
    return false;
  }
  PyObject* name = PyTuple_GET_ITEM(header, 0);
  PyObject* value = PyTuple_GET_ITEM(header, 1);
  if (!PyUnicode_Check(name) || !PyUnicode_Check(value)) {
    PyErr_Format(PyExc_TypeError, "a header's name and value must be str, not %R", header);
    return false;
  }
  return latin1(name, out.first) && latin1(value, out.second);
}

// start_response(status, headers, exc_info=None), PEP 3333. Records the status and headers, which
// go to the server with the first body bytes (send_headers). Until then an app that meets an
// error may call it again with exc_info, the sys.exc_info() of that error, to answer an error
// page instead; after that it is too late, and the error is raised again. Returns write.
PyObject* start_response(PyObject* capsule, PyObject* args, PyObject* kwargs) {
  return python_call([&]() -> PyObject* {
    static const char* keywords[] = {"status", "headers", "exc_info", nullptr};
    PyObject* status = nullptr;
    PyObject* headers = nullptr;
    PyObject* exc_info = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "UO!|O:start_response", const_cast<char**>(keywords),
                                     &status, &PyList_Type, &headers, &exc_info)) {
      return nullptr;
    }
    Exchange* exchange = exchange_of(capsule);
    if (exchange == nullptr) return nullptr;

    // Check exc_info: a second call must have one, and comes too late once the headers are sent.
    if (exc_info != Py_None) {
      if (!PyTuple_Check(exc_info) || PyTuple_GET_SIZE(exc_info) != 3 ||
          !PyExceptionInstance_Check(PyTuple_GET_ITEM(exc_info, 1))) {
        return PyErr_Format(PyExc_TypeError, "exc_info must be what sys.exc_info() returns, not %R",
                            exc_info);
      }
      if (exchange->headers_sent) {  // raise exc_info[1] again, with its traceback exc_info[2]
        PyObject* type = PyTuple_GET_ITEM(exc_info, 0);
        PyObject* value = PyTuple_GET_ITEM(exc_info, 1);
        PyObject* traceback = PyTuple_GET_ITEM(exc_info, 2);
        Py_INCREF(type);  // PyErr_Restore takes over a reference to each
        Py_INCREF(value);
        Py_INCREF(traceback);
        PyErr_Restore(type, value, traceback);
        return nullptr;
      }
    } else if (exchange->started) {
      return PyErr_Format(PyExc_RuntimeError, "start_response called a second time without exc_info");
    }

    // Record the status and headers, as bytes: str in Python, one byte per character.
    std::string status_bytes;
    std::vector<std::pair<std::string, std::string>> header_list;
    if (!latin1(status, status_bytes)) return nullptr;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(headers); ++i) {
      if (!header_bytes(PyList_GET_ITEM(headers, i), header_list.emplace_back())) return nullptr;
    }
    exchange->started = true;
    exchange->status = std::move(status_bytes);
    exchange->headers = std::move(header_list);
    return PyCFunction_New(&write_method, capsule);
  });
}

PyMethodDef start_response_method = {
    "start_response", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(start_response)),
    METH_VARARGS | METH_KEYWORDS, "start_response(status, headers, exc_info=None), PEP 3333"};

// wsgi.errors: a text stream whose lines go to the server's log, one log_error each.
PyObject* errors_write(PyObject* capsule, PyObject* text) {
  return python_call([&]() -> PyObject* {
    Exchange* exchange = exchange_of(capsule);
    if (exchange == nullptr) return nullptr;
    if (!PyUnicode_Check(text)) {
      return PyErr_Format(PyExc_TypeError, "wsgi.errors.write() takes str, not %.100s",
                          Py_TYPE(text)->tp_name);
    }
    exchange->partial_log_line += to_utf8(text);
    for (std::size_t end; (end = exchange->partial_log_line.find('\n')) != std::string::npos;) {
      log_line(*exchange, exchange->partial_log_line.substr(0, end));
      exchange->partial_log_line.erase(0, end + 1);
    }
    return PyLong_FromSsize_t(PyUnicode_GET_LENGTH(text));
  });
}

PyObject* errors_writelines(PyObject* capsule, PyObject* lines) {
  PyRef iterator(PyObject_GetIter(lines));
  if (!iterator) return nullptr;
  while (PyRef line{PyIter_Next(iterator.get())}) {
    if (!PyRef(errors_write(capsule, line.get()))) return nullptr;
  }
  if (PyErr_Occurred()) return nullptr;
  Py_RETURN_NONE;
}

PyObject* errors_flush(PyObject* capsule, PyObject*) {
  return python_call([&]() -> PyObject* {
    Exchange* exchange = exchange_of(capsule);
    if (exchange == nullptr) return nullptr;
    if (!exchange->partial_log_line.empty()) {
      log_line(*exchange, exchange->partial_log_line);
      exchange->partial_log_line.clear();
    }
    Py_RETURN_NONE;
  });
}

PyMethodDef error_stream_methods[] = {
    {"write", errors_write, METH_O, "write(text): text for the server's log"},
    {"writelines", errors_writelines, METH_O, "writelines(lines): write() each of them"},
    {"flush", errors_flush, METH_NOARGS, "flush(): log what was written after the last newline"},
};

// The wsgi.errors object: a types.SimpleNamespace whose write, writelines and flush are the
// functions above, bound to this request's capsule.
PyRef new_error_stream(PyObject* capsule) {
  PyRef methods(PyDict_New());
  if (!methods) return {};
  for (PyMethodDef& method : error_stream_methods) {
    PyRef function(PyCFunction_New(&method, capsule));
    if (!function || PyDict_SetItemString(methods.get(), method.ml_name, function.get()) != 0) return {};
  }
  PyRef types(PyImport_ImportModule("types"));
  PyRef simple_namespace(types ? PyObject_GetAttrString(types.get(), "SimpleNamespace") : nullptr);
  PyRef no_arguments(PyTuple_New(0));
  if (!simple_namespace || !no_arguments) return {};
  return PyRef(PyObject_Call(simple_namespace.get(), no_arguments.get(), methods.get()));
}

// The value of the gateway's environ variable `name` ("" when absent).
std::string_view environ_value(const gateway_call& call, std::string_view name) {
  for (std::size_t i = 0; i < call.environ_count; ++i) {
    const gateway_pair& pair = call.environ[i];
    if (std::string_view(pair.name.data, pair.name.size) == name) return {pair.value.data, pair.value.size};
  }
  return {};
}

// environ[key] = value; false, with a Python exception set, if there is no value or no room.
bool set_item(PyObject* environ, const char* key, const PyRef& value) {
  return value && PyDict_SetItemString(environ, key, value.get()) == 0;
}

// Step 4 in Python's terms: the WSGI environ (PEP 3333) from the gateway's. The CGI variables
// are copied as str, one character per byte (latin-1); the gateway.* ones become their wsgi.*
// counterparts. Returns nullptr, with a Python exception set, on failure.
PyRef build_wsgi_environ(const gateway_call& call, PyObject* capsule) {
  PyRef environ(PyDict_New());
  if (!environ) return {};
  for (std::size_t i = 0; i < call.environ_count; ++i) {
    const gateway_pair& pair = call.environ[i];
    if (std::string_view(pair.name.data, pair.name.size).starts_with("gateway.")) continue;
    PyRef name(PyUnicode_DecodeLatin1(pair.name.data, static_cast<Py_ssize_t>(pair.name.size), nullptr));
    PyRef value(PyUnicode_DecodeLatin1(pair.value.data, static_cast<Py_ssize_t>(pair.value.size), nullptr));
    if (!name || !value || PyDict_SetItem(environ.get(), name.get(), value.get()) != 0) return {};
  }

  std::string_view scheme = environ_value(call, "gateway.url_scheme");
  std::string_view body = environ_value(call, "gateway.input");
  auto size = [](std::string_view text) { return static_cast<Py_ssize_t>(text.size()); };
  PyRef io(PyImport_ImportModule("io"));
  PyRef input(io ? PyObject_CallMethod(io.get(), "BytesIO", "y#", body.data(), size(body)) : nullptr);
  auto flag = [&](std::string_view name) {
    return PyRef::borrow(environ_value(call, name) == "true" ? Py_True : Py_False);
  };

  PyObject* e = environ.get();
  bool ok =
      set_item(e, "wsgi.version", PyRef(Py_BuildValue("(ii)", 1, 0))) &&
      set_item(e, "wsgi.url_scheme", PyRef(PyUnicode_DecodeLatin1(scheme.data(), size(scheme), nullptr))) &&
      set_item(e, "wsgi.input", input) &&  // the body, which the server has read whole
      set_item(e, "wsgi.errors", new_error_stream(capsule)) &&
      set_item(e, "wsgi.multithread", flag("gateway.multithread")) &&
      set_item(e, "wsgi.multiprocess", flag("gateway.multiprocess")) &&
      set_item(e, "wsgi.run_once", flag("gateway.run_once"));
  return ok ? std::move(environ) : PyRef();
}

// Pass the body of the app's answer, its iterable, to the server chunk by chunk, in order.
// False, with a Python exception set, if the iterable fails or gives something other than bytes.
bool send_iterable(Exchange& exchange, PyObject* iterable) {
  const char* type = Py_TYPE(iterable)->tp_name;
  if (PyBytes_Check(iterable) || PyUnicode_Check(iterable)) {
    PyErr_Format(PyExc_TypeError,
                 "the app returned a %s object; it must return an iterable of bytes, such as [body]", type);
    return false;
  }
  if (Py_TYPE(iterable)->tp_iter == nullptr && !PySequence_Check(iterable)) {
    PyErr_Format(PyExc_TypeError,
                 "the app returned %s, which is not iterable; it must return an iterable of bytes", type);
    return false;
  }
  PyRef iterator(PyObject_GetIter(iterable));
  if (!iterator) return false;
  while (PyRef chunk{PyIter_Next(iterator.get())}) {
    if (!PyBytes_Check(chunk.get())) {
      PyErr_Format(PyExc_TypeError,
                   "the app's iterable gave a %.100s, not bytes (a body is bytes: encode text)",
                   Py_TYPE(chunk.get())->tp_name);
      return false;
    }
    if (!send_body(exchange, bytes_of(chunk.get()))) return false;
  }
  return !PyErr_Occurred();
}

// Steps 5 and 6 for a WSGI app: call it with environ and start_response, and pass the status,
// headers and body it gives to the server. Whatever fails is logged; returns false if anything did.
bool run_wsgi_app(Exchange& exchange, PyObject* capsule) {
  PyRef environ = build_wsgi_environ(*exchange.call, capsule);
  PyRef start_response_function(environ ? PyCFunction_New(&start_response_method, capsule) : nullptr);
  PyRef iterable(
      start_response_function
          ? PyObject_CallFunctionObjArgs(g_wsgi_app, environ.get(), start_response_function.get(), nullptr)
          : nullptr);
  bool ok = iterable && python_call([&] { return send_iterable(exchange, iterable.get()); });
  if (!ok) log_exception(exchange);

  // Always close(), whatever happened: it is how the app lets go of what the body held.
  if (iterable && PyObject_HasAttrString(iterable.get(), "close")) {
    if (!PyRef(PyObject_CallMethod(iterable.get(), "close", nullptr))) {
      log_exception(exchange);
      ok = false;
    }
  }
  // An empty body: the headers have not gone yet. (No start_response at all: the server says so.)
  if (ok && exchange.started && !exchange.headers_sent &&
      !python_call([&] { return send_headers(exchange); })) {
    log_exception(exchange);
    ok = false;
  }
  return ok;
}

// The app's call: one request through the WSGI app, holding the GIL for its duration.
int call_bridge(const gateway_call* call) {
  GilGuard gil;
  PyRef capsule;
  Exchange* exchange = nullptr;
  bool ok = false;
  try {
    capsule = new_exchange(call);
    exchange = capsule ? exchange_of(capsule.get()) : nullptr;
    if (exchange == nullptr) {
      PyErr_Clear();
      call->log_error(call->server, "the WSGI bridge could not start the request (out of memory?)");
      return 1;
    }
    ok = run_wsgi_app(*exchange, capsule.get());
    if (!exchange->partial_log_line.empty()) log_line(*exchange, exchange->partial_log_line);
  } catch (const std::exception& e) {
    PyErr_Clear();
    call->log_error(call->server, (std::string("the WSGI bridge failed: ") + e.what()).c_str());
    ok = false;
  } catch (...) {
    PyErr_Clear();
    call->log_error(call->server, "the WSGI bridge failed: an unknown C++ exception");
    ok = false;
  }
  if (exchange != nullptr) exchange->call = nullptr;  // the request is over
  return ok ? 0 : 1;
}

// The app's init: start Python and import the WSGI app, once, before the server listens.
int init_bridge(const char* argument, char* error, size_t error_size) {
  std::string message;
  try {
    message = start_bridge(argument);
  } catch (const std::exception& e) {
    message = std::string("the WSGI bridge failed: ") + e.what();
  } catch (...) {
    message = "the WSGI bridge failed: an unknown C++ exception";
  }
  if (message.empty()) return 0;
  std::snprintf(error, error_size, "%s", message.c_str());
  return 1;
}

}  // namespace

extern "C" const gateway_app app = {GATEWAY_ABI_VERSION, "wsgi", call_bridge, init_bridge};
