# The engine without the model runtime (issue 15): `make test` builds `accord` without
# its `model` feature and runs its unit tests, so an app that does not ship the model
# keeps a working engine (a configured model is reported, never loaded).
#
# It resolves features for `accord` alone, so it rebuilds a few dependencies once
# (about 2 minutes on 2 cores); the workspace build is untouched.

.PHONY: test-engine-no-model

TEST_TARGETS += test-engine-no-model

test-engine-no-model:
	$(CARGO) test -p accord --lib
