#pragma once
// JSON layouts shared by the CLI commands.
#include <Eigen/Dense>
#include <nlohmann/json.hpp>
#include <qbopt/simulate.hpp>
#include <vector>

namespace qbopt::cli {

// {"k": [...], "energy": [...], "ergotropy": [...], "purity": [...], "leakage": [...]}.
inline nlohmann::json samples_json(const std::vector<Sample>& samples) {
  nlohmann::json t = {{"k", nlohmann::json::array()},
                      {"energy", nlohmann::json::array()},
                      {"ergotropy", nlohmann::json::array()},
                      {"purity", nlohmann::json::array()},
                      {"leakage", nlohmann::json::array()}};
  for (const auto& x : samples) {
    t["k"].push_back(x.k);
    t["energy"].push_back(x.energy);
    t["ergotropy"].push_back(x.ergotropy);
    t["purity"].push_back(x.purity);
    t["leakage"].push_back(x.leakage);
  }
  return t;
}

// A matrix as a list of rows: rows_json(w)[j][i] = w(j, i).
inline nlohmann::json rows_json(const Eigen::MatrixXd& w) {
  nlohmann::json rows = nlohmann::json::array();
  for (int j = 0; j < w.rows(); ++j) {
    std::vector<double> row(w.cols());
    for (int i = 0; i < w.cols(); ++i) row[i] = w(j, i);
    rows.push_back(row);
  }
  return rows;
}

}  // namespace qbopt::cli
