# Shared by scripts/test and scripts/bench: a virtualenv per Python with a
# fresh release build of stealpool installed from a wheel (not editable, so
# tests and benchmarks see exactly what users would install).

# install_stealpool PYTHON VENV [EXTRA_PACKAGE...]
# Cargo features for the build come from $STEALPOOL_FEATURES (scripts/test
# sets test-helpers, which only adds functions the tests call).
install_stealpool() {
    local python=$1 venv=$2
    shift 2
    [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip maturin "$@"
    local wheels=dist/$(basename "$venv")
    rm -rf "$wheels"
    "$venv/bin/maturin" build --release --quiet --interpreter "$venv/bin/python" --out "$wheels" \
        ${STEALPOOL_FEATURES:+--features "$STEALPOOL_FEATURES"}
    "$venv/bin/python" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps "$wheels"/stealpool-*.whl
}
