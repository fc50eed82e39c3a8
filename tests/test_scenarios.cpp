// The paper's scenarios (include/qbopt/scenarios.hpp) are the one source of their numbers;
// examples/paper-*.toml, the files users start from, must say the same (g, nc, lambda, eta,
// loss and every batch), and there is one such file per scenario.
#include <gtest/gtest.h>
#include <toml++/toml.h>

#include <filesystem>
#include <qbopt/qbopt.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

using namespace qbopt;

namespace {

const std::filesystem::path kExamples = QBOPT_EXAMPLES_DIR;

// A batch of a TOML file: "c,q,count[,fixed]" or {c, q, count, fixed}.
Batch batch_of(const toml::node& n) {
  Batch b;
  if (const auto* t = n.as_table()) {
    b.qubit.c = (*t)["c"].value<double>().value();
    b.qubit.q = (*t)["q"].value<double>().value();
    b.count = (*t)["count"].value<long>().value();
    b.fixed = (*t)["fixed"].value_or(false);
    return b;
  }
  std::stringstream s(n.value<std::string>().value());
  std::string field;
  std::vector<std::string> f;
  while (std::getline(s, field, ',')) f.push_back(field);
  b.qubit.c = std::stod(f.at(0));
  b.qubit.q = std::stod(f.at(1));
  b.count = std::stol(f.at(2));
  b.fixed = f.size() > 3 && f[3].find("fixed") != std::string::npos;
  return b;
}

}  // namespace

TEST(PaperScenarios, ExamplesMatchTheCatalogue) {
  std::set<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(kExamples)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("paper-", 0) == 0 && e.path().extension() == ".toml") files.insert(name);
  }
  std::set<std::string> named;
  for (const PaperScenario& sc : paper_scenarios()) {
    SCOPED_TRACE(sc.id);
    named.insert(sc.example);
    const toml::table t = toml::parse_file((kExamples / sc.example).string());
    // The files write g with 16 significant digits: within an ulp or two of pi / sqrt(15.6).
    EXPECT_NEAR(t["g"].value<double>().value(), kPaperCoupling, 4e-16);
    EXPECT_EQ(t["nc"].value<int>().value(), sc.nc);
    EXPECT_EQ(t["lambda"].value<double>().value(), sc.lambda);
    EXPECT_EQ(t["eta"].value<double>().value(), sc.eta);
    EXPECT_EQ(t["loss"].value<std::string>().value(), "eq11");
    const toml::array* batches = t["batch"].as_array();
    ASSERT_NE(batches, nullptr);
    ASSERT_EQ(batches->size(), sc.start.size());
    ASSERT_EQ(sc.paper.size(), sc.start.size());
    for (std::size_t i = 0; i < sc.start.size(); ++i) {
      const Batch b = batch_of((*batches)[i]);
      // Exact: the same decimal literals on both sides.
      EXPECT_EQ(b.qubit.c, sc.start[i].qubit.c) << "batch " << i;
      EXPECT_EQ(b.qubit.q, sc.start[i].qubit.q) << "batch " << i;
      EXPECT_EQ(b.count, sc.start[i].count) << "batch " << i;
      EXPECT_EQ(b.fixed, sc.start[i].fixed) << "batch " << i;
    }
  }
  EXPECT_EQ(files, named) << "every examples/paper-*.toml is a scenario and every scenario has one";
  EXPECT_EQ(paper_scenarios().size(), 8u);
}

TEST(PaperScenarios, LookupByIdAndUnknownIds) {
  EXPECT_EQ(paper_scenario("improved").start.front().fixed, true);
  EXPECT_EQ(paper_scenario("3.2-lambda100").state_figure, "7a");
  EXPECT_THROW(paper_scenario("3.3-lambda1"), std::invalid_argument);
}
