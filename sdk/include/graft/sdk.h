#pragma once
// Umbrella header: everything a plugin may use.
#include <graft/error.h>
#include <graft/language_model.h>
#include <graft/log.h>
#include <graft/metric.h>
#include <graft/options.h>
#include <graft/plugin.h>
#include <graft/prediction_head.h>
#include <graft/processor.h>
#include <graft/registrar.h>
#include <graft/tokenizer.h>
#include <graft/types.h>
#include <graft/value.h>
#include <graft/version.h>
