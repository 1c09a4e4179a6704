SUMMARY = "Shoebox photo-box service"
DESCRIPTION = "shoeboxd keeps the photos and videos that phones and laptops back up to the box, \
               with a REST API, WebDAV, mDNS discovery and MQTT status. \
               The shoebox client is packaged as shoeboxd-client."
HOMEPAGE = "https://github.com/shoebox/shoebox"
SECTION = "net"
LICENSE = "AGPL-3.0-or-later"
LIC_FILES_CHKSUM = "file://LICENSE;md5=216109e2c1c3eaf57de2bfc18c11c9f8"

# PV (from the file name) is the workspace version: [workspace.package] in Cargo.toml.
#
# Point SHOEBOX_GIT_URI at a mirror from local.conf or a bbappend, e.g.
#   SHOEBOX_GIT_URI = "git://git.example.com/shoebox.git;protocol=ssh;branch=main"
# The crates below come from the Cargo.lock of the checkout this layer is in, so build that commit:
#   SRCREV:pn-shoeboxd = "<commit of the checkout>"
# A layer cannot name its own commit: the SRCREV here is bumped by hand when releasing, and
# scripts/check-yocto-layer notes while its Cargo.lock differs from the tree's.
# To build a working tree instead, use `devtool modify shoeboxd /path/to/shoebox`, or in local.conf
#   INHERIT += "externalsrc"
#   EXTERNALSRC:pn-shoeboxd = "/path/to/shoebox"
# (externalsrc keeps the crate:// entries, so the crates are still fetched and verified.)
SHOEBOX_GIT_URI ?= "git://github.com/shoebox/shoebox.git;protocol=https;branch=main"
SRC_URI = "${SHOEBOX_GIT_URI};destsuffix=git"
SRCREV = "0a1adb1eb26bd246b311bbc7b8a40a07fa7bd1c7"

# The same path on every release: where UNPACKDIR is not defined, sources unpack into WORKDIR, and
# destsuffix=git fixes the checkout's directory name, whose default changed in later releases.
UNPACKDIR ??= "${WORKDIR}"
S = "${UNPACKDIR}/git"

# One crate:// entry and sha256 per crates.io package of Cargo.lock, made by scripts/yocto-crates
# (CI checks it is current). It must come after the SRC_URI assignment above, which it appends to.
require ${BPN}-crates.inc

inherit cargo cargo-update-recipe-crates systemd useradd features_check

# Type=notify with a watchdog: the service is written for systemd.
REQUIRED_DISTRO_FEATURES = "systemd"

# No network is needed after do_fetch: the crate fetcher downloads every crate above in do_fetch,
# cargo_common points cargo's crates-io source at those vendored copies, and cargo.bbclass builds
# with --frozen (offline, Cargo.lock as committed). rusqlite's `bundled` SQLite and ring's C and
# assembly are compiled by the cc crate with the cross compiler that cargo_common exports.
#
# The workspace root is the manifest (CARGO_SRC_DIR stays empty); build only the two binaries.
CARGO_BUILD_FLAGS:append = " --package shoeboxd --package shoebox-client"

# The release profile strips symbols itself; let OE strip, so -dbg works and the already-stripped
# QA check stays quiet.
export CARGO_PROFILE_RELEASE_STRIP = "false"

# The service user, the same as systemd/shoeboxd.sysusers (installed too, for systemd-sysusers),
# created at rootfs time so read-only images have it.
USERADD_PACKAGES = "${PN}"
USERADD_PARAM:${PN} = "--system --user-group --home-dir ${localstatedir}/lib/shoebox \
                        --no-create-home --shell ${base_sbindir}/nologin shoebox"

do_install() {
    install -d ${D}${bindir}
    install -m 0755 ${B}/target/${CARGO_TARGET_SUBDIR}/shoeboxd ${D}${bindir}/shoeboxd
    install -m 0755 ${B}/target/${CARGO_TARGET_SUBDIR}/shoebox ${D}${bindir}/shoebox

    install -d ${D}${systemd_system_unitdir}
    install -m 0644 ${S}/systemd/shoeboxd.service ${D}${systemd_system_unitdir}/shoeboxd.service

    install -d ${D}${nonarch_libdir}/sysusers.d
    install -m 0644 ${S}/systemd/shoeboxd.sysusers ${D}${nonarch_libdir}/sysusers.d/shoeboxd.conf

    # Readable by the service's group only: the unit runs as shoebox with PrivateUsers=yes.
    install -d -m 0750 -o root -g shoebox ${D}${sysconfdir}/shoebox
    install -m 0640 -o root -g shoebox ${S}/packaging/shoebox.toml ${D}${sysconfdir}/shoebox/shoebox.toml
}

PACKAGE_BEFORE_PN = "${PN}-client"
SUMMARY:${PN}-client = "The shoebox client: find a Shoebox, sign in, back a folder up to it"
FILES:${PN}-client = "${bindir}/shoebox"

FILES:${PN} += "${nonarch_libdir}/sysusers.d"
CONFFILES:${PN} = "${sysconfdir}/shoebox/shoebox.toml"

SYSTEMD_SERVICE:${PN} = "shoeboxd.service"
SYSTEMD_AUTO_ENABLE:${PN} = "enable"
