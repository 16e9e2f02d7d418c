// part2_gateway/apps/hello.cpp: the built-in hello app (common/hello_app.cpp), exported as a
// shared object of its own:  ./part2/server part2/hello.so
#include "common/hello_app.hpp"

extern "C" const gateway_app app = hello_app;
