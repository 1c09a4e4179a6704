# An example image: core-image-minimal with the Shoebox service. Build it with systemd as the init
# manager (INIT_MANAGER = "systemd" in local.conf or the distro); see ../../README.md.
require recipes-core/images/core-image-minimal.bb

SUMMARY = "Minimal image running the Shoebox photo-box service"
LICENSE = "MIT"

IMAGE_INSTALL:append = " shoeboxd"
