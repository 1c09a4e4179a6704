# Sourced by the scripts: make sure what a step needs is installed, installing it when we are root,
# or say exactly what to install.

# Installs Debian packages as root; otherwise names them and fails. $1 says what they are for.
# An index that fails to download (a mirror mid-sync) must not stop an install that does not need it.
apt_install() {
    local why=$1
    shift
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "installing $* ($why)" >&2
        apt-get update -qq || echo "some package indexes did not update; installing from the rest" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
    else
        echo "missing $why: install the Debian packages: $*" >&2
        return 1
    fi
}

# Usage: need_tools "tool:package" ...
need_tools() {
    local missing_pkgs=() missing_tools=() pair tool pkg
    for pair in "$@"; do
        tool=${pair%%:*}
        pkg=${pair#*:}
        if ! command -v "$tool" >/dev/null 2>&1; then
            missing_tools+=("$tool")
            missing_pkgs+=("$pkg")
        fi
    done
    [ ${#missing_pkgs[@]} -eq 0 ] || apt_install "for ${missing_tools[*]}" "${missing_pkgs[@]}"
}

# For packages whose files are not one tool on PATH (libraries, a second rustc): by package name.
# Usage: need_packages package ...
need_packages() {
    local missing=() pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] || apt_install "libraries and toolchains" "${missing[@]}"
}

# A tool published as a crate, built once into ~/.cargo/bin.
# Usage: need_crate_tool tool crate@version [cargo install options]
need_crate_tool() {
    local tool=$1 crate=$2
    shift 2
    command -v "$tool" >/dev/null 2>&1 && return 0
    echo "installing $crate (for $tool) with cargo install" >&2
    cargo install --locked --quiet "$crate" "$@"
}

# A free TCP port on loopback, for a server a script starts.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
