# `sam build` (template.yaml, Metadata: BuildMethod: makefile) runs the target
# build-<LogicalId> with ARTIFACTS_DIR set; the function's files there are the
# same as in the zip of `cmake --build build --target package`.
BUILD_DIR ?= build-lambda
# The package ships Amazon RDS's global CA bundle (packaging/db-ca-bundle.sh);
# DB_CA_BUNDLE names another PEM bundle of database CAs to ship instead.
DB_CA_BUNDLE ?=

.PHONY: build-RotationFunction
build-RotationFunction:
	test -n "$(ARTIFACTS_DIR)" || { echo "ARTIFACTS_DIR is not set (sam build sets it)" >&2; exit 2; }
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=Release -DSECRET_ROTATOR_TESTS=OFF
	cmake --build $(BUILD_DIR) -j --target bootstrap
	packaging/package.sh --binary $(BUILD_DIR)/bootstrap --output $(BUILD_DIR)/secret-rotator.zip \
	  --unpacked-dir $(ARTIFACTS_DIR) $(if $(DB_CA_BUNDLE),--db-ca-bundle $(DB_CA_BUNDLE))
