// common/hello_app.hpp (Part 2): the app every server runs when no other is named on its command line.
#pragma once

#include "common/gateway_abi.h"

// GET /hello answers "Hello, World!"; other paths 404; methods other than GET and HEAD 405.
// The same answers as Part 1's handle_request(), now given through the gateway interface.
extern const gateway_app hello_app;
