// The `qbopt` executable: the command-line front end lives in the qbopt_cli library.
namespace qbopt::cli {
int run_main(int argc, char** argv);  // cli/main.cpp
}

int main(int argc, char** argv) { return qbopt::cli::run_main(argc, argv); }
