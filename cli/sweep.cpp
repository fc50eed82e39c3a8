#include "sweep.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>
#include <toml++/toml.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <qbopt/version.hpp>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <utility>

#include "config.hpp"
#include "io.hpp"
#include "task.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif
#ifdef QBOPT_HAVE_MPI
#include <mpi.h>
#endif

using json = nlohmann::json;

namespace qbopt::cli {

namespace {

constexpr int kBadInput = 2;
constexpr int kInterrupted = 130;

// ---------------------------------------------------------------- expansion of the sweep file

// Shortest decimal text that reads back as the same double.
std::string number_text(double x) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, x);
  return std::string(buf, r.ptr);
}

// Sets `key` of a task: "model.NAME" (or a "model" table, merged) goes into the model table.
void set_option(json& task, const std::string& key, const json& value) {
  auto model = [&]() -> json& {
    json& m = task["model"];
    if (m.is_string()) m = json{{"name", m}};
    if (!m.is_object()) m = json::object();
    return m;
  };
  if (key.rfind("model.", 0) == 0) {
    model()[key.substr(6)] = value;
  } else if (key == "model" && value.is_object()) {
    for (const auto& [k, v] : value.items()) model()[k] = v;
  } else {
    task[key] = value;
  }
}

// A "c,q,..." or "c=..,q=..,..." text (a --batch or --qubit) with its c and q replaced.
std::string with_point(const std::string& text, double c, double q) {
  std::vector<std::string> parts;
  std::stringstream ss(text);
  for (std::string item; std::getline(ss, item, ',');) parts.push_back(item);
  const bool keyed = text.find('=') != std::string::npos;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    std::string f = parts[i];
    f.erase(0, f.find_first_not_of(" \t"));
    if (keyed ? f.rfind("c=", 0) == 0 || f.rfind("c =", 0) == 0 : i == 0)
      parts[i] = keyed ? "c=" + number_text(c) : number_text(c);
    else if (keyed ? f.rfind("q=", 0) == 0 || f.rfind("q =", 0) == 0 : i == 1)
      parts[i] = keyed ? "q=" + number_text(q) : number_text(q);
  }
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) out += (i ? "," : "") + parts[i];
  return out;
}

// Moves batch `index` (0-based) of the task to control values (c, q); a spectrum task's
// qubit instead (it has no batches).
void set_batch_point(json& task, std::size_t index, double c, double q, const std::string& where) {
  if (task.value("command", "") == "spectrum") {
    json& qubit = task["qubit"];
    if (!qubit.is_string())
      throw std::invalid_argument(where + ": a spectrum sweep needs qubit = \"c,q\" to move");
    qubit = with_point(qubit.get<std::string>(), c, q);
    return;
  }
  json& batches = task["batch"];
  if (batches.is_string() || batches.is_object()) batches = json::array({batches});
  if (!batches.is_array() || index >= batches.size())
    throw std::invalid_argument(where + ": batch = " + std::to_string(index + 1) +
                                " but the configuration has " +
                                std::to_string(batches.is_array() ? batches.size() : 0) +
                                " batch(es)");
  json& b = batches[index];
  if (b.is_object()) {
    b["c"] = c;
    b["q"] = q;
    return;
  }
  if (!b.is_string()) throw std::invalid_argument(where + ": batch entries must be strings or tables");
  b = with_point(b.get<std::string>(), c, q);
}

// The values of one grid axis {from, to, points}.
std::vector<double> grid_axis(const toml::node* n, const std::string& name) {
  const std::string where = "[sweep.grid] " + name;
  if (!n) return {};
  const toml::table* t = n->as_table();
  if (!t) throw std::invalid_argument(where + " must be a table {from, to, points}");
  for (const auto& [k, _] : *t)
    if (k != "from" && k != "to" && k != "points")
      throw std::invalid_argument(where + " has an unknown key '" + std::string(k.str()) +
                                  "' (known: from, to, points)");
  const auto from = t->get("from") ? t->get("from")->value<double>() : std::nullopt;
  const auto to = t->get("to") ? t->get("to")->value<double>() : std::nullopt;
  const auto points = t->get("points") ? t->get("points")->value<std::int64_t>() : std::nullopt;
  if (!from || !to || !points)
    throw std::invalid_argument(where + " needs numbers from, to and an integer points");
  if (*points < 1 || *points > 100000)
    throw std::invalid_argument(where + ": points must be in [1, 100000], got " +
                                std::to_string(*points));
  std::vector<double> v(static_cast<std::size_t>(*points));
  for (std::int64_t i = 0; i < *points; ++i)
    v[i] = *points == 1 ? *from : *from + (*to - *from) * double(i) / double(*points - 1);
  return v;
}

// The position of a node in its file, to keep the sweep's axes in the order they were written.
std::pair<std::uint32_t, std::uint32_t> position(const toml::node& n) {
  return {n.source().begin.line, n.source().begin.column};
}

// The tasks of a sweep table; `file` names it in messages. Its [sweep] axes vary in the order
// of `order` when given (keys as "lambda", "model.kappa_tau"), else in the file's order.
std::vector<json> expand(const toml::table& tbl, const std::string& file,
                         const std::vector<std::string>& order) {
  const toml::node* command = tbl.get("command");
  if (!command || !command->is_string())
    throw std::invalid_argument(file + " needs command = \"simulate\", \"loss\", \"optimize\" or "
                                "\"spectrum\"");
  json base;
  try {
    base = to_json(tbl);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(file + ": " + e.what());
  }
  base.erase("sweep");

  // The overrides of each task: explicit tasks x grid points x the product of the axes.
  std::vector<json> overrides{json::object()};
  auto product = [&](const std::vector<json>& values, auto&& apply) {
    std::vector<json> next;
    for (const auto& o : overrides)
      for (const auto& v : values) {
        json x = o;
        apply(x, v);
        next.push_back(std::move(x));
      }
    overrides = std::move(next);
  };
  std::vector<std::pair<std::string, const toml::node*>> axes;
  const toml::node* grid = nullptr;
  const toml::node* tasks = nullptr;
  if (const toml::node* sn = tbl.get("sweep")) {
    const toml::table* sweep = sn->as_table();
    if (!sweep) throw std::invalid_argument(file + ": 'sweep' must be a table");
    for (const auto& [k, v] : *sweep) {
      const std::string key(k.str());
      if (key == "grid") {
        grid = &v;
      } else if (key == "tasks") {
        tasks = &v;
      } else if (key == "model" && v.is_table()) {  // [sweep.model] kappa_tau = [...]
        for (const auto& [mk, mv] : *v.as_table())
          axes.emplace_back("model." + std::string(mk.str()), &mv);
      } else {
        axes.emplace_back(key, &v);
      }
    }
  }
  if (tasks) {
    const toml::array* a = tasks->as_array();
    if (!a || a->empty() || !a->is_array_of_tables())
      throw std::invalid_argument(file + ": [[sweep.tasks]] must be a non-empty list of tables");
    std::vector<json> list;
    for (const auto& t : *a) list.push_back(to_json(*t.as_table()));
    product(list, [](json& o, const json& v) { o["tasks"] = v; });
  }
  if (grid) {
    const toml::table* g = grid->as_table();
    if (!g) throw std::invalid_argument(file + ": [sweep.grid] must be a table");
    for (const auto& [k, _] : *g)
      if (k != "c" && k != "q" && k != "batch")
        throw std::invalid_argument(file + ": [sweep.grid] has an unknown key '" +
                                    std::string(k.str()) + "' (known: c, q, batch)");
    const std::vector<double> cs = grid_axis(g->get("c"), "c"), qs = grid_axis(g->get("q"), "q");
    if (cs.empty() || qs.empty())
      throw std::invalid_argument(file + ": [sweep.grid] needs both c and q");
    std::int64_t batch = 1;
    if (const toml::node* b = g->get("batch")) {
      const auto v = b->value_exact<std::int64_t>();
      if (!v || *v < 1)
        throw std::invalid_argument(file + ": [sweep.grid] batch must be an integer >= 1 (1 = first)");
      batch = *v;
    }
    std::vector<json> points;
    for (double c : cs)
      for (double q : qs) points.push_back({{"batch", batch}, {"c", c}, {"q", q}});
    product(points, [](json& o, const json& v) { o["grid"] = v; });
  }
  if (order.empty()) {
    std::stable_sort(axes.begin(), axes.end(), [](const auto& a, const auto& b) {
      return position(*a.second) < position(*b.second);
    });
  } else {
    auto rank = [&](const std::string& key) {
      return std::find(order.begin(), order.end(), key) - order.begin();
    };
    std::stable_sort(axes.begin(), axes.end(),
                     [&](const auto& a, const auto& b) { return rank(a.first) < rank(b.first); });
  }
  for (const auto& [key, node] : axes) {
    const toml::array* a = node->as_array();
    if (!a) throw std::invalid_argument(file + ": sweep key '" + key + "' must be a list of values");
    if (a->empty()) throw std::invalid_argument(file + ": sweep key '" + key + "' has an empty list");
    if (key == "command" || key == "out" || key == "threads")
      throw std::invalid_argument(file + ": sweep key '" + key + "' cannot vary");
    std::vector<json> values;
    for (const auto& e : *a) {
      if (e.is_table()) values.push_back(to_json(*e.as_table()));
      else {
        toml::table wrap;
        wrap.insert("v", e);
        values.push_back(to_json(wrap)["v"]);
      }
    }
    product(values, [&key](json& o, const json& v) { o["axes"].push_back({key, v}); });
  }

  std::vector<json> out;
  out.reserve(overrides.size());
  for (std::size_t i = 0; i < overrides.size(); ++i) {
    const json& o = overrides[i];
    json task = base;
    std::string label;  // the task's own values, for error messages
    try {
      if (o.contains("tasks")) {
        for (const auto& [k, v] : o["tasks"].items()) set_option(task, k, v);
        label += o["tasks"].dump();
      }
      if (o.contains("grid")) {
        const json& g = o["grid"];
        set_batch_point(task, g["batch"].get<std::size_t>() - 1, g["c"], g["q"], "[sweep.grid]");
        label += (label.empty() ? "" : ", ") + std::string("c = ") +
                 number_text(g["c"]) + ", q = " + number_text(g["q"]);
      }
      if (o.contains("axes"))
        for (const auto& kv : o["axes"]) {  // [key, value] in the file's order
          set_option(task, kv[0], kv[1]);
          label += (label.empty() ? "" : ", ") + kv[0].get<std::string>() + " = " + kv[1].dump();
        }
      check_task(task);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(file + ": task " + std::to_string(i) +
                                  (label.empty() ? "" : " (" + label + ")") + ": " + e.what());
    }
    out.push_back(std::move(task));
  }
  return out;
}

}  // namespace

std::vector<json> expand_sweep(const std::string& path) {
  const std::string file = "sweep '" + path + "'";
  return expand(parse_toml_file(path, file), file, {});
}

std::vector<json> expand_sweep_json(const std::string& text, const std::string& origin) {
  // ordered_json keeps the keys in the order written: the order of the axes.
  const auto ordered = nlohmann::ordered_json::parse(text, nullptr, false);
  if (ordered.is_discarded() || !ordered.is_object())
    throw std::invalid_argument(origin + " must be an object (a table)");
  std::vector<std::string> order;
  if (ordered.contains("sweep") && ordered["sweep"].is_object())
    for (const auto& [k, v] : ordered["sweep"].items()) {
      if (k == "model" && v.is_object())
        for (const auto& [mk, mv] : v.items()) order.push_back("model." + mk);
      else
        order.push_back(k);
    }
  toml::table tbl;
  try {
    tbl = to_toml(json::parse(text));
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(origin + ": " + e.what());
  }
  return expand(tbl, origin, order);
}

std::string task_hash(const json& task) {
  // FNV-1a over the canonical dump (nlohmann sorts object keys).
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char ch : task.dump()) {
    h ^= ch;
    h *= 1099511628211ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

namespace {

// ---------------------------------------------------------------- the results file

// The results file, opened for appending: each line goes out in a single write() so that a
// killed run leaves at most one partial last line, which the next run drops.
class ResultsFile {
 public:
  // Reads the lines already there into `done` (task indices), after checking that each one
  // belongs to this sweep; throws std::invalid_argument otherwise (unless restart).
  ResultsFile(const std::string& path, const std::vector<json>& tasks,
              const std::vector<std::string>& hashes, bool restart, std::vector<bool>& done)
      : path_(path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
      throw std::invalid_argument("--out '" + path + "' is a directory");
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd_ < 0) throw std::invalid_argument("cannot write --out '" + path + "'");
    if (restart) {
      truncate_to(0);
      return;
    }
    std::ifstream in(path, std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::size_t complete = text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1;
    if (complete < text.size()) {
      std::fprintf(stderr, "qbopt: note: dropping the partial last line of '%s'\n", path.c_str());
      truncate_to(complete);
    }
    std::size_t begin = 0, line_no = 0;
    while (begin < complete) {
      const std::size_t end = text.find('\n', begin);
      ++line_no;
      const std::string where = "--out '" + path + "' line " + std::to_string(line_no);
      json line = json::parse(text.begin() + begin, text.begin() + end, nullptr, false);
      begin = end + 1;
      if (line.is_discarded() || !line.is_object() || !line.contains("task") ||
          !line["task"].is_number_unsigned() || !line.contains("hash"))
        throw std::invalid_argument(where + " is not a sweep result (--restart overwrites it)");
      const std::size_t i = line["task"];
      if (i >= tasks.size() || line["hash"] != hashes[i])
        throw std::invalid_argument(where + ": task " + std::to_string(i) +
                                    " is not in this sweep or its configuration changed "
                                    "(--restart starts over)");
      done[i] = true;
    }
  }
  ~ResultsFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  ResultsFile(const ResultsFile&) = delete;

  void append(const std::string& line) {
    std::lock_guard<std::mutex> lock(mutex_);
    // Regular files take a whole write() unless the disk is full; a short write is an error.
    const ssize_t n = ::write(fd_, line.data(), line.size());
    if (n != static_cast<ssize_t>(line.size()))
      throw std::runtime_error("failed to write '" + path_ + "' (disk full?)");
  }

 private:
  void truncate_to(std::size_t size) {
    if (::ftruncate(fd_, static_cast<off_t>(size)) != 0)
      throw std::invalid_argument("cannot truncate --out '" + path_ + "'");
  }
  std::string path_;
  int fd_ = -1;
  std::mutex mutex_;
};

// ---------------------------------------------------------------- running the tasks

// Cores this process may run on (taskset, cgroups and Slurm restrict it).
int available_cores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

// Hands out the pending task indices, in order, to every worker (threads and ranks).
class Dispatcher {
 public:
  explicit Dispatcher(std::vector<std::size_t> pending) : pending_(std::move(pending)) {}
  // The next task, or -1 when none is left or the sweep was interrupted.
  long long next() {
    if (interrupted()) return -1;
    const std::size_t k = next_.fetch_add(1);
    return k < pending_.size() ? static_cast<long long>(pending_[k]) : -1;
  }
  std::size_t size() const { return pending_.size(); }
  // Tasks handed out so far.
  std::size_t handed() const { return std::min(next_.load(), pending_.size()); }

 private:
  std::vector<std::size_t> pending_;
  std::atomic<std::size_t> next_{0};
};

struct Sweep {
  std::vector<json> tasks;
  std::vector<std::string> hashes;
  RunContext ctx;
  std::atomic<int> failures{0};
  std::atomic<long> written{0};   // lines written (rank 0: its own and the other ranks')

  // The result line of task i ("" when the run was interrupted midway: abandoned).
  std::string run(std::size_t i) {
    json line = {{"task", i}, {"hash", hashes[i]}, {"config", tasks[i]}};
    line["config"]["qbopt_version"] = qbopt::version;
    try {
      json result = run_task(tasks[i], ctx);
      const bool partial = result.contains("interrupted") ||
                           (result.contains("status") && result["status"] == "interrupted");
      if (partial) return "";
      line["result"] = std::move(result);
    } catch (const std::exception& e) {
      if (interrupted()) return "";
      line["error"] = e.what();
      ++failures;
    }
    return line.dump() + '\n';
  }
};

// Runs `threads` workers on this process, each handing its last result line ("" at first) to
// `take`, which returns the next task index (-1: stop), with the inner (OpenMP) parallelism of one task limited to
// ctx.threads so that concurrent tasks do not oversubscribe the cores.
template <class Take>
void run_workers(int threads, Sweep& sw, Take take) {
  std::vector<std::thread> pool;
  std::exception_ptr error;
  std::mutex error_mutex;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
#ifdef _OPENMP
      omp_set_num_threads(std::max(1, sw.ctx.threads));
#endif
      try {
        std::string line;
        for (long long i; (i = take(t, line)) >= 0;) line = sw.run(static_cast<std::size_t>(i));
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
      }
    });
  for (auto& th : pool) th.join();
  if (error) std::rethrow_exception(error);
}

// The progress line on a terminal, or the caller's progress callback.
void report_progress(const SweepOptions& o, const Sweep& sw, std::size_t total) {
  if (o.progress) o.progress(sw.written.load(), static_cast<long>(total));
  if (o.quiet || !stderr_is_terminal()) return;
  std::fprintf(stderr, "\rsweep: %ld / %zu tasks", sw.written.load(), total);
}

// Which MPI process this is; size 1 without MPI.
struct Ranks {
  int rank = 0, size = 1;
  int local = 1;            // ranks on this machine
  bool multiple = false;    // MPI_THREAD_MULTIPLE: every worker thread may talk to rank 0
};

// True when started by mpirun/srun: only then is MPI initialized (a plain `qbopt sweep` must
// not need an MPI runtime).
bool launched_by_mpi() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "PMI_RANK"})
    if (std::getenv(v)) return true;
  return false;
}

#ifdef QBOPT_HAVE_MPI
constexpr int kRequestTag = 1;    // worker -> rank 0: [slot, kind, result line]
constexpr int kReplyTag = 1000;   // rank 0 -> worker slot s: tag kReplyTag + s, a task index
constexpr int kAsk = 0, kLeave = 1;

// Rank 0's side: answers the other ranks' workers until all of them left, while its own
// workers run on other threads. Polls (MPI_Iprobe, then a sleep) so that it does not take a
// core from the workers as a blocking receive would (Open MPI busy-waits). The sleep starts at
// kPollMin after each request and doubles up to kPollMax while none comes: a fixed 200 us
// woke this thread 5000 times a second beside the workers (6600 context switches a second on
// 2 vCPUs), while a request waits at most kPollMax for its answer.
constexpr auto kPollMin = std::chrono::microseconds(25);
constexpr auto kPollMax = std::chrono::microseconds(1000);

void serve_remote(int remote_workers, Dispatcher& dispatch, ResultsFile& file, Sweep& sw) {
  std::vector<char> buf;
  auto pause = kPollMin;
  while (remote_workers > 0) {
    int flag = 0;
    MPI_Status st;
    MPI_Iprobe(MPI_ANY_SOURCE, kRequestTag, MPI_COMM_WORLD, &flag, &st);
    if (!flag) {
      std::this_thread::sleep_for(pause);
      pause = std::min(2 * pause, kPollMax);
      continue;
    }
    pause = kPollMin;
    int n = 0;
    MPI_Get_count(&st, MPI_CHAR, &n);
    buf.resize(static_cast<std::size_t>(n));
    MPI_Recv(buf.data(), n, MPI_CHAR, st.MPI_SOURCE, kRequestTag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    std::int32_t head[2];
    std::memcpy(head, buf.data(), sizeof head);
    if (static_cast<std::size_t>(n) > sizeof head) {
      file.append(std::string(buf.data() + sizeof head, buf.size() - sizeof head));
      ++sw.written;
    }
    if (head[1] == kLeave) {
      --remote_workers;
      continue;
    }
    long long i = dispatch.next();
    MPI_Send(&i, 1, MPI_LONG_LONG, st.MPI_SOURCE, kReplyTag + head[0], MPI_COMM_WORLD);
    if (i < 0) --remote_workers;
  }
}

// A worker's side on another rank: sends its last result with the request for the next task.
long long ask_rank0(int slot, int kind, const std::string& line) {
  std::vector<char> buf(2 * sizeof(std::int32_t) + line.size());
  const std::int32_t head[2] = {slot, kind};
  std::memcpy(buf.data(), head, sizeof head);
  std::memcpy(buf.data() + sizeof head, line.data(), line.size());
  MPI_Send(buf.data(), static_cast<int>(buf.size()), MPI_CHAR, 0, kRequestTag, MPI_COMM_WORLD);
  if (kind == kLeave) return -1;
  long long i = -1;
  MPI_Recv(&i, 1, MPI_LONG_LONG, 0, kReplyTag + slot, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  return i;
}
#endif

// Everything but MPI's start and end: validation, resume, the workers.
int sweep_body(const SweepOptions& o, const Ranks& rk, SweepSummary& sum) {
  Sweep sw;
  // 1. Every rank expands and validates the file (it is cheap and deterministic), so that a
  //    bad file stops all of them before any work; rank 0 alone reports it.
  int status = 0;
  std::string message;
  try {
    sw.tasks = o.config_json ? expand_sweep_json(*o.config_json, "sweep config")
                             : expand_sweep(o.file);
    if (o.threads < 0) throw std::invalid_argument("--threads must be >= 0");
  } catch (const std::invalid_argument& e) {
    status = kBadInput;
    message = e.what();
  }
  for (const auto& t : sw.tasks) sw.hashes.push_back(task_hash(t));
  if (status == 0 && o.list) {
    if (rk.rank == 0)
    for (std::size_t i = 0; i < sw.tasks.size(); ++i)
      std::printf("%s\n", json({{"task", i}, {"hash", sw.hashes[i]}, {"config", sw.tasks[i]}})
                              .dump()
                              .c_str());
    return 0;
  }
  // 2. Rank 0 opens the results file and skips the tasks already there.
  std::unique_ptr<ResultsFile> file;
  std::vector<bool> done(sw.tasks.size(), false);
  if (status == 0 && rk.rank == 0) {
    try {
      file = std::make_unique<ResultsFile>(o.out, sw.tasks, sw.hashes, o.restart, done);
    } catch (const std::invalid_argument& e) {
      status = kBadInput;
      message = e.what();
    }
  }
#ifdef QBOPT_HAVE_MPI
  if (rk.size > 1) MPI_Allreduce(MPI_IN_PLACE, &status, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
#endif
  if (status != 0) {
    sum.error = message;
    if (!message.empty() && rk.rank == 0 && !o.quiet)
      std::fprintf(stderr, "qbopt: error: %s\n", message.c_str());
    return status;
  }
  std::vector<std::size_t> pending;
  for (std::size_t i = 0; i < sw.tasks.size(); ++i)
    if (!done[i]) pending.push_back(i);
  const std::size_t skipped = sw.tasks.size() - pending.size();
  sum.tasks = sw.tasks.size();
  sum.skipped = skipped;

  // 3. Cores: `threads` tasks at a time on each rank (the cores shared among the ranks on
  //    this machine by default); a task gets the cores left over, usually one.
  const int cores = available_cores();
  int threads = o.threads > 0 ? o.threads : std::max(1, cores / rk.local);
  if (rk.rank != 0 && !rk.multiple) threads = 1;  // only the main thread may talk to rank 0
  sw.ctx.quiet = true;
  sw.ctx.threads = std::max(1, cores / (threads * rk.local));

  const auto t0 = std::chrono::steady_clock::now();
  Dispatcher dispatch(rk.rank == 0 ? pending : std::vector<std::size_t>{});
  if (rk.rank == 0) {
#ifdef QBOPT_HAVE_MPI
    int remote_workers = 0;  // the other ranks' worker threads
    if (rk.size > 1)
      MPI_Reduce(MPI_IN_PLACE, &remote_workers, 1, MPI_INT, MPI_SUM, 0, MPI_COMM_WORLD);
#endif
    std::exception_ptr error;
    std::thread local([&] {
      try {
        run_workers(threads, sw, [&](int, const std::string& line) {
          if (!line.empty()) {
            file->append(line);
            ++sw.written;
          }
          report_progress(o, sw, pending.size());
          return dispatch.next();
        });
      } catch (...) {
        error = std::current_exception();
      }
    });
#ifdef QBOPT_HAVE_MPI
    if (rk.size > 1) serve_remote(remote_workers, dispatch, *file, sw);
#endif
    local.join();
    if (error) std::rethrow_exception(error);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    sum.written = sw.written.load();
    sum.seconds = secs;
    if (!o.quiet) {
      if (stderr_is_terminal()) std::fputc('\n', stderr);
      std::printf("sweep: %ld of %zu tasks run in %.3f s (%zu already in '%s'), %d rank(s) x %d "
                  "thread(s)%s\n",
                  sw.written.load(), sw.tasks.size(), secs, skipped, o.out.c_str(), rk.size, threads,
                  interrupted() ? (", interrupted (" +
                                   std::to_string(dispatch.handed() - sw.written.load()) +
                                   " in flight abandoned, to be rerun)")
                                      .c_str()
                                : "");
    }
  }
#ifdef QBOPT_HAVE_MPI
  else {
    int mine = threads;
    MPI_Reduce(&mine, nullptr, 1, MPI_INT, MPI_SUM, 0, MPI_COMM_WORLD);
    // After an interruption a worker hands over its last result and leaves; after a -1 from
    // rank 0 it asks no more.
    run_workers(threads, sw, [&](int slot, const std::string& line) {
      return ask_rank0(slot, interrupted() ? kLeave : kAsk, line);
    });
  }
#endif
  sum.failures = sw.failures.load();
  if (sw.failures > 0 && rk.rank == 0) {
    sum.error = std::to_string(sw.failures.load()) + " task(s) failed (their lines have \"error\")";
    if (!o.quiet)
      std::fprintf(stderr, "qbopt: error: %d task(s) failed (their lines have \"error\")\n",
                 sw.failures.load());
  }
  if (interrupted()) return kInterrupted;
  return sw.failures > 0 ? 1 : 0;
}

}  // namespace

int run_sweep(const SweepOptions& o, SweepSummary* summary) {
  SweepSummary local_summary;
  SweepSummary& sum = summary ? *summary : local_summary;
  Ranks rk;
  const bool mpi = launched_by_mpi();
#ifdef QBOPT_HAVE_MPI
  if (mpi) {
    int provided = 0;
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided);
    rk.multiple = provided >= MPI_THREAD_MULTIPLE;
    MPI_Comm_rank(MPI_COMM_WORLD, &rk.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &rk.size);
    MPI_Comm node;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
    MPI_Comm_size(node, &rk.local);
    MPI_Comm_free(&node);
  }
#else
  // Several copies of a sweep without MPI would each run every task: refuse before any work.
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"})
    if (mpi && std::getenv(v) && std::atoi(std::getenv(v)) > 1) {
      const char* r = std::getenv("OMPI_COMM_WORLD_RANK");
      if (!r || std::string(r) == "0")
        std::fprintf(stderr, "qbopt: error: this qbopt was built without MPI (QBOPT_MPI=OFF): "
                             "run one process with --threads instead of mpirun\n");
      sum.error = "this qbopt was built without MPI";
      return sum.code = kBadInput;
    }
#endif
  int rc = 1;
  try {
    rc = sweep_body(o, rk, sum);
  } catch (const std::exception& e) {
    sum.error = e.what();
    if (!o.quiet) std::fprintf(stderr, "qbopt: error: %s\n", e.what());
#ifdef QBOPT_HAVE_MPI
    if (mpi && rk.size > 1) MPI_Abort(MPI_COMM_WORLD, 1);
#endif
    rc = 1;
  }
#ifdef QBOPT_HAVE_MPI
  if (mpi) MPI_Finalize();
#endif
  return sum.code = rc;
}

}  // namespace qbopt::cli
