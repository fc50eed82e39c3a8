#pragma once
// The public API of qbopt in one include.
#include <qbopt/gradient.hpp>
#include <qbopt/loss.hpp>
#include <qbopt/micromaser.hpp>
#include <qbopt/model.hpp>
#include <qbopt/noise.hpp>
#include <qbopt/observables.hpp>
#include <qbopt/optimize.hpp>
#include <qbopt/qubit.hpp>
#include <qbopt/schedule.hpp>
#include <qbopt/simulate.hpp>
#include <qbopt/spectrum.hpp>
#include <qbopt/state.hpp>
#include <qbopt/version.hpp>
#include <qbopt/wigner.hpp>
