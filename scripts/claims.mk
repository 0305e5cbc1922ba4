# ==== scripts/claims.mk: the list of claims in the repository ==============================
#
#   make claims-list        scripts/CLAIMS.md from scripts/claims.toml (after editing claims)
#   make test-claims-list   scripts/CLAIMS.md is current, and claims_list.py's tests (1 s)

.PHONY: claims-list test-claims-list
claims-list:
	@$(PYTHON) scripts/claims_list.py

test-claims-list:
	@echo "== test-claims-list: scripts/CLAIMS.md current with scripts/claims.toml"
	@$(PYTHON) scripts/claims_list.py --check
	@$(PYTHON) -m unittest discover -s scripts/tests -p 'test_claims_list.py'
TEST_TARGETS += test-claims-list
