# Makefile: the six stages of the course, their tests and the tools around them.
#
#   make                 build every stage
#   make part1           build stage 1 into part1/ (part2 ... part6 likewise); then ./part1/server
#   make test            unit tests (doctest) and black-box tests (pytest), installing what they need
#   make test-part3      only what stage 3 uses and does: its modules' unit tests, its black-box tests
#   make test SANITIZE=1 the same, built with AddressSanitizer and UndefinedBehaviorSanitizer
#   make test-grader     check make grade-N: the course's stages pass, the exercises' starts fail
#   make check-notes     run the commands NOTES.md shows and compare their output with the text
#   make deps            install what the tests and the experiments use, and the optional tools
#   make fuzz            fuzz the parser and the environ with libFuzzer (FUZZ_SECONDS=60)
#   make soak            20,000 requests against the final server: no failure, zombie or leak
#   make bench           what each concurrency model costs: tests/bench/results.md, charts (12 min)
#   make bench QUICK=1   the same, a second a server: a check for CI
#   make diff-2          the lesson of stage 2: what it adds to stage 1 (diff-1 ... diff-6)
#   make site            the course as a website, each chapter beside its diff: open site/index.html
#   make site-test       open every page of it in headless Chromium and check what a reader would see
#   make exercise-3      write stage 3 yourself: starts mine/part3/, says what to do (exercise-1 ... 6)
#   make grade-3         build mine/part3/server as stage 3 is built and grade it with stage 3's tests
#   make compile_commands.json   for editors and clang tools
#   make format          reformat the C++ sources (make format-check only checks)
#   make clean
#   make help            this list
#
# CXX, CXXFLAGS, LDFLAGS and -j are honoured. Warnings are always on and always errors.

CXX      ?= g++
WARNINGS := -Wall -Wextra -Werror
# The sanitizers go in flags of their own, so that they apply even when CXXFLAGS is given on the
# command line (make SANITIZE=1 CXXFLAGS=-O0 compiles and links with them alike).
ifeq ($(SANITIZE),1)
  CXXFLAGS ?= -O1 -g
  SANITIZER_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
endif
CXXFLAGS ?= -O2 -g
ALL_CXXFLAGS := -std=c++20 $(WARNINGS) -fPIC -I. -MMD -MP $(CXXFLAGS) $(SANITIZER_FLAGS)
ALL_CFLAGS   := -std=c11 $(WARNINGS) -fPIC -I. -MMD -MP $(filter-out -std=%,$(CXXFLAGS)) $(SANITIZER_FLAGS)
ALL_LDFLAGS  := $(LDFLAGS) $(SANITIZER_FLAGS)
# Programs (not apps) get the C++ runtime linked in (-static-libstdc++ -static-libgcc) and every
# symbol bound at start-up (-z now): a forked child then has three libraries fewer to map and no
# symbol left to look up on its first calls (NOTES.md, Appendix C). Not with the sanitizers, whose
# runtime replaces the C++ allocation functions. A C++ app, a shared object, brings its own.
ifneq ($(SANITIZE),1)
  EXE_LDFLAGS := -static-libstdc++ -static-libgcc -Wl,-z,now
endif
LDLIBS       += -ldl
BUILD := build

# Goals that build nothing (help, clean, the diffs, the exercises' starts, the site) run no compiler
# probe and write no file.
QUIET_GOALS := help clean $(foreach n,1 2 3 4 5 6,diff-$(n) exercise-$(n)) site site-test
BUILDING := $(if $(MAKECMDGOALS),$(filter-out $(QUIET_GOALS),$(MAKECMDGOALS)),all)

# Rebuild everything when the compiler or its flags change (SANITIZE=1 and back, say).
ifneq ($(BUILDING),)
FLAGS_NOW := $(CXX) $(ALL_CXXFLAGS) $(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) $(EXE_LDFLAGS)
$(shell mkdir -p $(BUILD) && echo '$(FLAGS_NOW)' | cmp -s - $(BUILD)/flags || echo '$(FLAGS_NOW)' > $(BUILD)/flags)
endif

# How a program is linked: its objects, into the stage's folder.
define link
	@mkdir -p $(@D)
	$(CXX) $(ALL_CXXFLAGS) $(ALL_LDFLAGS) $(EXE_LDFLAGS) -o $@ $^ $(LDLIBS)
endef
# How a gateway app is linked: a shared object the servers load at run time.
define link_app
	@mkdir -p $(@D)
	$(CXX) $(ALL_CXXFLAGS) $(ALL_LDFLAGS) -shared -o $@ $^
endef

.PHONY: all help part1 part2 part3 part4 part5 part6 no-asio soak test unit-test black-box-test deps test-deps clean \
        compile_commands.json format format-check
all: part1 part2 part3 part4 part5 part6

# ---- common/: which modules each stage builds on ---------------------------------------------
# A module belongs to the part that teaches it: that part introduces it (NEW_N), `make diff-N`
# shows it whole, and that stage and every later one link it (COMMON_N). Nothing in common/ is
# linked before its part.
NEW_1 := common/unique_fd.hpp common/net.hpp common/net.cpp common/options.hpp common/options.cpp \
         common/log.hpp common/log.cpp common/http_request.hpp common/http_request.cpp \
         common/http_response.hpp common/http_response.cpp common/connection.hpp common/connection.cpp
NEW_2 := common/gateway_abi.h common/gateway.hpp common/gateway.cpp common/gateway_app.hpp \
         common/gateway_app.cpp common/hello_app.hpp common/hello_app.cpp
NEW_3 :=
NEW_4 := common/proc.hpp common/proc.cpp
NEW_5 :=
NEW_6 :=
COMMON_1 := $(NEW_1)
COMMON_2 := $(COMMON_1) $(NEW_2)
COMMON_3 := $(COMMON_2) $(NEW_3)
COMMON_4 := $(COMMON_3) $(NEW_4)
COMMON_5 := $(COMMON_4) $(NEW_5)
COMMON_6 := $(COMMON_5) $(NEW_6)
# The object files of a list of sources: $(call objects,$(COMMON_2))
objects = $(patsubst %.cpp,$(BUILD)/%.o,$(filter %.cpp,$(1)))

# ---- the stages -------------------------------------------------------------------------------
part1: part1/server
part1/server: $(BUILD)/part1_basic_http/server.o $(call objects,$(COMMON_1))
	$(link)

part2: part2/server part2/hello.so part2/environ.so part2/greeter.so
part2/server: $(BUILD)/part2_gateway/server.o $(call objects,$(COMMON_2))
	$(link)
# The apps link only the app's side of the gateway: gateway_app (and the built-in hello app).
APP_SIDE := $(call objects,common/gateway_app.cpp)
part2/hello.so: $(BUILD)/part2_gateway/apps/hello.o $(call objects,common/hello_app.cpp) $(APP_SIDE)
	$(link_app)
part2/environ.so: $(BUILD)/part2_gateway/apps/environ.o
	$(link_app)
part2/greeter.so: $(BUILD)/part2_gateway/apps/greeter.o $(BUILD)/part2_gateway/apps/tinyweb.o $(APP_SIDE)
	$(link_app)

# ---- part2/wsgi.so: the WSGI bridge, Python's frameworks on the servers (needs python3-dev) ----
# Debian's python3-config by its full name: the python3 first on PATH may be another build
# (pyenv, a venv), whose libpython would not see Debian's python3-flask and the like. Where
# `python3-config --embed` does not work, the bridge is skipped with a note.
PYTHON_CONFIG ?= /usr/bin/python3-config
ifneq ($(BUILDING),)
PYTHON_EMBED_LIBS := $(shell $(PYTHON_CONFIG) --embed --ldflags 2>/dev/null)
PYTHON_INCLUDES := $(shell $(PYTHON_CONFIG) --includes 2>/dev/null)
endif
ifneq ($(PYTHON_EMBED_LIBS),)
part2: part2/wsgi.so
part2/wsgi.so: $(BUILD)/part2_gateway/apps/wsgi_bridge.o
	@mkdir -p $(@D)
	$(CXX) $(ALL_CXXFLAGS) $(ALL_LDFLAGS) -shared -o $@ $^ $(PYTHON_EMBED_LIBS)
BRIDGE_FLAGS := $(PYTHON_INCLUDES) -DBRIDGE_PYTHON='"$(shell $(PYTHON_CONFIG) --prefix)/bin/python3"'
$(BUILD)/part2_gateway/apps/wsgi_bridge.o: ALL_CXXFLAGS += $(BRIDGE_FLAGS)
else
part2: ; @echo "note: part2/wsgi.so (the WSGI bridge) skipped: it needs python3-dev ($(PYTHON_CONFIG) --embed)"
endif
# ---- end of part2/wsgi.so ----------------------------------------------------------------------

# The comparison server needs Boost.Asio (Debian: libboost-dev), the one use of Boost here; without
# it, part3 builds the rest and says so.
ifneq ($(BUILDING),)
HAVE_ASIO := $(shell printf '\043if __has_include(<boost/asio.hpp>)\nyes\n\043endif\n' | $(CXX) -E -P -x c++ - 2>/dev/null)
endif
part3: part3/server part3/client $(if $(HAVE_ASIO),part3/asio_server,no-asio)
part3/server: $(BUILD)/part3_sockets/server.o $(call objects,$(COMMON_3))
	$(link)
part3/asio_server: $(BUILD)/part3_sockets/asio_server.o $(call objects,$(COMMON_3))
	$(link)
no-asio:
	@echo "note: part3/asio_server not built: it needs Boost.Asio (sudo apt-get install libboost-dev)"

# From here on each stage also gets the load client of Part 3, to point at its server.
CLIENT_COMMON := $(call objects,common/net.cpp common/options.cpp)
part4: part4/server part4/client
part4/server: $(BUILD)/part4_descriptors/server.o $(call objects,$(COMMON_4))
	$(link)
part5: part5/server part5/client
part5/server: $(BUILD)/part5_fork/server.o $(call objects,$(COMMON_5))
	$(link)
part6: part6/server part6/client
part6/server: $(BUILD)/part6_zombies/server.o $(call objects,$(COMMON_6))
	$(link)
part%/client: $(BUILD)/part3_sockets/client.o $(CLIENT_COMMON)
	$(link)

# ---- compiling: every .cpp (and .c) into build/, with its header dependencies ---------------------
$(BUILD)/%.o: %.cpp $(BUILD)/flags
	@mkdir -p $(@D)
	$(CXX) $(ALL_CXXFLAGS) -c -o $@ $<
$(BUILD)/%.o: %.c $(BUILD)/flags
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

ifneq ($(BUILDING),)
-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
endif
# Keep every object file, even those only a pattern rule asked for (the load client's, say).
.SECONDARY:

# ---- tests ------------------------------------------------------------------------------------
UNIT_TESTS := $(BUILD)/unit_tests
$(UNIT_TESTS): $(patsubst %.cpp,$(BUILD)/%.o,$(wildcard tests/unit/*.cpp)) $(call objects,$(COMMON_6))
	$(link)
# Apps for the tests: ones that break the gateway contract on purpose (one symbol per fault), one
# that starts a program, and the bench's app that waits before it answers.
TEST_APPS := $(BUILD)/tests/misbehaving.so $(BUILD)/tests/runs_a_program.so $(BUILD)/tests/wait_app.so
$(BUILD)/tests/%.so: $(BUILD)/tests/apps/%.o
	$(link_app)
$(BUILD)/tests/wait_app.so: $(BUILD)/tests/bench/wait_app.o
	$(link_app)

# The black-box tests need an interpreter with pytest: Debian's python3-pytest serves
# /usr/bin/python3, which is not always the first python3 on PATH.
PYTHON = $(shell for p in /usr/bin/python3 python3; do $$p -c 'import pytest' >/dev/null 2>&1 && { echo $$p; break; }; done)

# The black-box tests run in parallel (pytest-xdist): most of their time is spent waiting on
# servers, not computing, so more workers than cores pays. PYTEST_WORKERS=0 runs them in order.
PYTEST_WORKERS ?= 4
PYTEST := SANITIZE=$(SANITIZE) $(PYTHON) -m pytest -n $(PYTEST_WORKERS)

test: test-deps
	$(MAKE) all $(UNIT_TESTS) $(TEST_APPS)
	$(MAKE) unit-test black-box-test

unit-test: $(UNIT_TESTS)
	$(UNIT_TESTS)

black-box-test:
	$(PYTEST) tests

# One stage's tests: the unit tests of the common/ modules it links (tests/unit/test_MODULE.cpp),
# then the black-box tests that run against it (pytest --stage N). Builds what those tests use.
TEST_STAGES := $(foreach n,1 2 3 4 5 6,test-part$(n))
.PHONY: $(TEST_STAGES)
unit_tests_of = $(subst $(space),$(comma),$(strip $(foreach m,$(basename $(notdir $(filter %.cpp,$(COMMON_$(1))))),\
                $(if $(wildcard tests/unit/test_$(m).cpp),*test_$(m).cpp))))
comma := ,
space := $(subst ,, )
$(TEST_STAGES): test-part%: test-deps
	$(MAKE) part$* $(if $(filter-out 1,$*),part2) $(if $(filter-out 1 2,$*),part3/client) $(UNIT_TESTS) $(TEST_APPS) \
	  $(PARSE_REQUESTS)
	$(UNIT_TESTS) --source-file='$(call unit_tests_of,$*)'
	$(PYTEST) tests --stage $*

# What the tests need (`make test` installs it); `make deps` adds the experiments' tools and the
# optional ones (tests/install-deps says which).
test-deps:
	@tests/install-deps tests
deps:
	@tests/install-deps tests experiments optional

# ---- the differential check: our parser against h11 (tests/test_differential.py) --------------
# The driver parses many inputs in one process, without a server: the parser is all it links. The
# check runs with the black-box tests, so they build it first.
PARSE_REQUESTS := $(BUILD)/parse_requests
$(PARSE_REQUESTS): $(BUILD)/tests/differential/parse_requests.o $(BUILD)/common/http_request.o
	$(link)
black-box-test: $(PARSE_REQUESTS)
# ---- end of the differential check ------------------------------------------------------------

# A longer soak of the final server than the one in `make test` (SOAK_REQUESTS=20000).
soak: test-deps
	$(MAKE) part6
	SOAK_REQUESTS=$(or $(SOAK_REQUESTS),20000) $(PYTHON) -m pytest -s tests/test_soak.py

# ---- the course text, checked: the commands NOTES.md shows, run and compared (tests/notes/) ------
#   make check-notes                               every code block of NOTES.md, run or accounted for
#   make check-notes NOTES=tests/notes/sample.md   another text
# Each block is a test (pytest); the run ends with "N blocks checked, M manual: reasons".
NOTES ?= NOTES.md
.PHONY: check-notes
check-notes:
	@tests/install-deps tests experiments
	$(MAKE) all $(UNIT_TESTS) $(TEST_APPS)
	PYTHON=$(PYTHON) tests/notes/check-notes $(NOTES) -n $(PYTEST_WORKERS)
# ---- end of the course text check ---------------------------------------------------------------

# ---- fuzzing: libFuzzer targets for the parser and the environ (tests/fuzz/) --------------------
#   make fuzz            build the fuzz targets with clang and run each for FUZZ_SECONDS (60)
# Seeds are the cases of tests/corpus. Everything the fuzzers write goes to tests/fuzz/out/
# (git-ignored): the inputs that reached new code, a log per target, and crash-* files, each
# replayed with build/fuzz/TARGET FILE. A crash fails the make; CI runs FUZZ_SECONDS=20.
FUZZ_CXX     ?= clang++
FUZZ_SECONDS ?= 60
FUZZ_OUT     := tests/fuzz/out
FUZZ_FLAGS   := -std=c++20 -g -O1 -fno-omit-frame-pointer -I. -fsanitize=fuzzer,address,undefined \
                -fno-sanitize-recover=all
FUZZ_TARGETS := $(BUILD)/fuzz/fuzz_parser $(BUILD)/fuzz/fuzz_environ
.PHONY: fuzz
$(BUILD)/fuzz/fuzz_parser: tests/fuzz/fuzz_parser.cpp common/http_request.cpp common/http_request.hpp
	@mkdir -p $(@D)
	$(FUZZ_CXX) $(FUZZ_FLAGS) -o $@ $(filter %.cpp,$^)
$(BUILD)/fuzz/fuzz_environ: tests/fuzz/fuzz_environ.cpp $(COMMON_2)
	@mkdir -p $(@D)
	$(FUZZ_CXX) $(FUZZ_FLAGS) -o $@ $(filter %.cpp,$^) -ldl
fuzz: $(FUZZ_TARGETS)
	@tests/fuzz/make-seeds $(FUZZ_OUT)/seeds
	@for target in $(FUZZ_TARGETS); do name=$$(basename $$target); mkdir -p $(FUZZ_OUT)/$$name; \
	  echo "$$name: fuzzing for $(FUZZ_SECONDS) s, log in $(FUZZ_OUT)/$$name.log"; \
	  $$target $(FUZZ_OUT)/$$name $(FUZZ_OUT)/seeds -dict=tests/fuzz/http.dict -max_len=16384 \
	    -timeout=10 -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=$(FUZZ_OUT)/$$name- \
	    -print_final_stats=1 >$(FUZZ_OUT)/$$name.log 2>&1 \
	  || { tail -n 40 $(FUZZ_OUT)/$$name.log; echo "$$name found a crash: see above"; exit 1; }; \
	  grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss)' $(FUZZ_OUT)/$$name.log; done
# ---- end of fuzzing -------------------------------------------------------------------------------

# ---- benchmarks: what each concurrency model costs (tests/bench/) -------------------------------
#   make bench           every server under wrk, beside bare C servers, nginx and gunicorn (about 12 min)
#   make bench QUICK=1   a second a server, for CI: fails on any error or a missing result file
# Writes tests/bench/results.md and its charts (QUICK=1: into tests/bench/out/quick/); scratch
# output and the servers' logs go to tests/bench/out/ (git-ignored). Installs wrk and gnuplot-nox
# (and, without QUICK, nginx-light and gunicorn) with apt-get when it can, or says what to install.
BENCH_PYTHON ?= /usr/bin/python3
.PHONY: bench
bench: all
	$(BENCH_PYTHON) tests/bench/bench.py $(if $(filter 1,$(QUICK)),--quick)
# ---- end of benchmarks ----------------------------------------------------------------------------

# ---- the lessons: what each stage adds to the one before ---------------------------------------
#   make diff-N   stage N-1's server.cpp against stage N's, then each common/ file stage N
#                 introduces, whole (stage 1: everything, as added lines). Coloured on a terminal,
#                 plain through a pipe; COLOR=always keeps the colours (make diff-2 COLOR=always | less -R).
STAGE_DIRS := part1_basic_http part2_gateway part3_sockets part4_descriptors part5_fork part6_zombies
COLOR ?= auto
show_diff = { git --no-pager diff --no-index --color=$(COLOR) $(1) $(2) || [ $$? -eq 1 ]; }
DIFFS := $(foreach n,1 2 3 4 5 6,diff-$(n))
.PHONY: $(DIFFS)
# Stage N's folder, and the server.cpp it is compared with (stage 1: none, /dev/null).
stage_dir = $(word $(1),$(STAGE_DIRS))
before = $(if $(filter 1,$(1)),/dev/null,$(word $(1),- $(STAGE_DIRS))/server.cpp)
$(DIFFS): diff-%:
	@$(call show_diff,$(call before,$*),$(call stage_dir,$*)/server.cpp)
	@$(foreach f,$(NEW_$*),$(call show_diff,/dev/null,$(f)) && ) true
	@extra=$$(cd $(call stage_dir,$*) && ls | grep -vx server.cpp); \
	 if [ -n "$$extra" ]; then echo; echo "Also in $(call stage_dir,$*)/:" $$extra; fi

# ---- the site: the course as web pages (tools/site/) --------------------------------------------
#   make site        site/: a page a chapter of NOTES.md, each part's diff (its make diff-N, side by
#                    side) where the chapter shows that command, and every source file whole, each
#                    line an anchor (site/part3/server.cpp.html#L42). Made afresh from the sources.
#   make site-test   open every page in headless Chromium at a phone's width: links and anchors,
#                    console errors, requests that would leave the machine, the diffs, the width.
# Uses pandoc, Node.js with npm, and the npm packages pinned in tools/site/package-lock.json;
# tools/site/install-deps installs what it can and names what it cannot.
.PHONY: site site-test
site:
	@tools/site/install-deps
	node tools/site/build.mjs
site-test: site
	@tools/site/install-deps --browser
	node tools/site/check.mjs

# ---- exercises: each stage written by the learner, graded by the course's own tests ---------------
#   make exercise-N   start mine/partN/: stage N-1's server.cpp to make into stage N (Part 1: the
#                     parser with the request line and header lines left to write); says what to do.
#                     A file already there is never replaced.
#   make grade-N      build mine/partN/server as stage N is built (Part 1 with mine/part1's parser in
#                     the place of common/'s) and run the tests of stage N against it, behaviour by
#                     behaviour (tests/grade/). Exit status 0 when every required behaviour passes.
#                     ONLY="socket_pair ..." grades those behaviours only (tests/grade/behaviours.py).
# MINE=DIR, a folder inside the project, works elsewhere than mine/ (make test-grader does).
MINE ?= mine
ifneq ($(filter /% ..%,$(MINE)),)
  $(error MINE=$(MINE): the learner's folder must be inside the project, such as mine)
endif
EXERCISES := $(foreach n,1 2 3 4 5 6,exercise-$(n))
GRADES := $(foreach n,1 2 3 4 5 6,grade-$(n))
.PHONY: $(EXERCISES) $(GRADES)
$(EXERCISES): exercise-%:
	@$(or $(PYTHON),python3) tests/grade/exercise.py --stage $* --mine $(MINE) --new '$(NEW_$*)'

# The learner's stage N links what the course's stage N links, by the same recipe; their objects are
# compiled as every other, into build/. Part 1 links their parser instead of common/'s.
MINE_PARSER := $(BUILD)/$(MINE)/part1/http_request.o
$(MINE)/part1/server: $(BUILD)/$(MINE)/part1/server.o $(MINE_PARSER) \
                      $(call objects,$(filter-out common/http_request.cpp,$(COMMON_1)))
	$(link)
define mine_server
$(MINE)/part$(1)/server: $(BUILD)/$(MINE)/part$(1)/server.o $(call objects,$(COMMON_$(1)))
	$$(link)
endef
$(foreach n,2 3 4 5 6,$(eval $(call mine_server,$(n))))
# The parser's unit tests, with the learner's parser: Part 1 is graded by them too.
MINE_PARSER_TESTS := $(BUILD)/$(MINE)/part1/parser_tests
$(MINE_PARSER_TESTS): $(BUILD)/tests/unit/main.o $(BUILD)/tests/unit/test_http_request.o $(MINE_PARSER)
	$(link)

$(GRADES): grade-%: test-deps
	@for f in $(MINE)/part$*/server.cpp $(if $(filter 1,$*),$(MINE)/part1/http_request.cpp); do [ -f $$f ] || \
	  { echo "$$f is not there: make exercise-$*$(if $(filter-out mine,$(MINE)), MINE=$(MINE)) starts it"; exit 2; }; done
	@$(MAKE) -s --no-print-directory all $(TEST_APPS) $(MINE)/part$*/server $(if $(filter 1,$*),$(MINE_PARSER_TESTS))
	@$(PYTHON) tests/grade/grade.py --stage $* --server-binary $(MINE)/part$*/server \
	  $(if $(filter 1,$*),--parser-tests $(MINE_PARSER_TESTS)) $(if $(ONLY),--only $(ONLY))

# The grader graded: make grade-N passes the course's own stages and fails the starting points of
# make exercise-N, with readable reasons (tests/grade/test_grader.py, in build/grader-check/).
.PHONY: test-grader
test-grader: test-deps
	$(MAKE) all $(TEST_APPS)
	$(PYTHON) -m pytest -s tests/grade/test_grader.py

# ---- editors ------------------------------------------------------------------------------------
compile_commands.json:
	@{ echo '['; sep=''; for f in $$(find common part*_* tests/unit tests/apps -name '*.cpp' | sort); do \
	  extra=''; [ "$$f" = part2_gateway/apps/wsgi_bridge.cpp ] && extra='$(subst ",\\\",$(BRIDGE_FLAGS))'; \
	  printf '%s{"directory":"%s","file":"%s","command":"%s %s %s -c %s"}\n' "$$sep" "$$PWD" "$$f" \
	    "$(CXX)" "$(ALL_CXXFLAGS)" "$$extra" "$$f"; sep=','; done; echo ']'; } > $@
	@echo "wrote $@"

CPP_FILES = $(shell find common part*_* tests -name '*.cpp' -o -name '*.hpp' -o -name '*.[ch]' | sort)
format:
	clang-format -i $(CPP_FILES)
format-check:
	clang-format --dry-run --Werror $(CPP_FILES)

help:
	@sed -n '/^$$/q; s/^#   make/make/p' Makefile

clean:
	rm -rf $(BUILD) part1 part2 part3 part4 part5 part6 compile_commands.json site
