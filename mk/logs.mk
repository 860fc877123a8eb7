# Log template mining and the log report (issues 4 and 12): accuracy and speed figures.
.PHONY: bench-logs ga-logs drain3

bench: bench-logs

# drain3 from PyPI into bench/.venv, the peer `accord-bench logs` is compared with.
drain3:
	bash bench/logs/setup_drain3.sh

# Grouping Accuracy on the ten Loghub-2k systems scored by the benchmark's ga.py (the
# shipped settings), then leave-one-system-out over those and our own labelled logs
# (bench/logs/extra): each system scored with the settings chosen without it, and what
# each rule is there for. Fails when the shipped default is not the choice made on all.
ga-logs: release
	ACCORD_SHARED_DIR=$(SHARED) bash bench/logs/loghub_ga.sh $(RELEASE)
	ACCORD_SHARED_DIR=$(SHARED) $(BENCH) ga

# Prints the tables; bench/results/logs.md holds the published run with its notes.
bench-logs: release drain3
	ACCORD_SHARED_DIR=$(SHARED) $(BENCH) logs
