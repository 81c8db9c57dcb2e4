# `sam build` (template.yaml, Metadata: BuildMethod: makefile) runs the target
# build-<LogicalId> with ARTIFACTS_DIR set; the function's files there are the
# same as in the zip of `cmake --build build --target package`. It runs on
# the host: Debian 12 only (README, "Where sam build works").
# ARCHITECTURE=arm64 (from the environment) cross-compiles for arm64
# (cmake/aarch64-linux-gnu.cmake); deploy that with Architecture=arm64.
ARCHITECTURE ?= x86_64
BUILD_DIR ?= build-lambda-$(ARCHITECTURE)
# The package ships Amazon RDS's global CA bundle (packaging/db-ca-bundle.sh);
# DB_CA_BUNDLE names another PEM bundle of database CAs to ship instead.
DB_CA_BUNDLE ?=
JOBS ?= 2

ifeq ($(ARCHITECTURE),x86_64)
TOOLCHAIN :=
else ifeq ($(ARCHITECTURE),arm64)
TOOLCHAIN := --toolchain cmake/aarch64-linux-gnu.cmake
else
$(error ARCHITECTURE must be x86_64 or arm64, not '$(ARCHITECTURE)')
endif

.PHONY: build-RotationFunction
build-RotationFunction:
	test -n "$(ARTIFACTS_DIR)" || { echo "ARTIFACTS_DIR is not set (sam build sets it)" >&2; exit 2; }
	cmake -S . -B $(BUILD_DIR) $(TOOLCHAIN) -DCMAKE_BUILD_TYPE=Release -DSECRET_ROTATOR_TESTS=OFF
	cmake --build $(BUILD_DIR) -j$(JOBS) --target bootstrap
	packaging/package.sh --binary $(BUILD_DIR)/bootstrap --output $(BUILD_DIR)/secret-rotator.zip \
	  --unpacked-dir $(ARTIFACTS_DIR) $(if $(DB_CA_BUNDLE),--db-ca-bundle $(DB_CA_BUNDLE))
