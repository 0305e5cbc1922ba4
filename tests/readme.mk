# ==== tests/readme.mk: the README's own runtime example still builds and runs ==========
#
#   make test-readme-example   compile the README's "A program of your own" C block and
#                              its cc line (-Werror, against build/libmn.a) into
#                              $(BUILD)/readme/ and run it; part of make test (~2 s)

README_EX := $(BUILD)/readme

.PHONY: test-readme-example
test-readme-example: $(LIBMN)
	@mkdir -p $(README_EX)
	@awk '/A program of your own/{f=1} f&&/^```c$$/{c=1;next} c&&/^```$$/{exit} c' README.md \
	  >$(README_EX)/hello.c
	@test -s $(README_EX)/hello.c || { echo "test-readme-example: no C block after 'A program of your own' in README.md"; exit 1; }
	@cmd=$$(awk '/A program of your own/{f=1} f&&/^```sh$$/{s=1;next} s&&/^```$$/{exit} s' README.md \
	  | sed -e 's/#.*//' -e 's/\\$$//' | tr '\n' ' ' | sed -e 's/^make && //'); \
	  case "$$cmd" in cc\ *) ;; *) echo "test-readme-example: no 'make && cc ...' line after the C block: '$$cmd'"; exit 1;; esac; \
	  cmd=$$(echo "$$cmd" | sed -e 's| -o hello hello.c | -o $(README_EX)/hello $(README_EX)/hello.c |' \
	    -e 's|^cc |$(CC) |'); \
	  echo "$$cmd"; eval "$$cmd" || { echo "test-readme-example: the README's example does not build"; exit 1; }
	@out=$$(timeout 60 $(README_EX)/hello) || { echo "test-readme-example: exit $$?"; exit 1; }; \
	  [ "$$out" = "hello from G 2" ] || { echo "test-readme-example: printed '$$out', want 'hello from G 2'"; exit 1; }; \
	  echo "test-readme-example: the README's runtime example builds with -Werror and prints 'hello from G 2'"

TEST_TARGETS += test-readme-example
