"""An images/ tree in the upstream test/images format, written from the catalog spec."""

from __future__ import annotations

from pathlib import Path

LINUX = ("amd64", "arm", "arm64", "ppc64le", "s390x")
WINDOWS = ("1809", "ltsc2022", "ltsc2025")
BUSYBOX_VERSION = "1.36.1-1"
AGNHOST_VERSION = "2.52"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def make_upstream_tree(root: Path) -> Path:
    """busybox (mirror + Windows), agnhost on busybox, kitten on agnhost, httpd-new (ALIAS),
    the servercore cache (linux/amd64/<osver> keys), an image without BASEIMAGE, volume/nfs."""
    root.mkdir(parents=True, exist_ok=True)
    # windows-servercore-cache: a Linux image per Windows release.
    d = root / "windows-servercore-cache"
    write(d / "VERSION", "1.0\n")
    write(d / "BASEIMAGE", "".join(
        f"linux/amd64/{v}=mcr.microsoft.com/windows/servercore:{'ltsc2019' if v == '1809' else v}\n"
        for v in WINDOWS))
    write(d / "Dockerfile", "ARG BASEIMAGE\nFROM --platform=windows/amd64 $BASEIMAGE AS core\n"
          "FROM scratch\nCOPY --from=core /Windows/System32/netapi32.dll /Windows/System32/\n")
    # busybox
    d = root / "busybox"
    write(d / "VERSION", BUSYBOX_VERSION + "\n")
    lines = [f"linux/{a}=docker.io/library/busybox:1.36.1" for a in LINUX]
    lines += [f"windows/amd64/{v}=mcr.microsoft.com/windows/nanoserver:{v}" for v in WINDOWS]
    write(d / "BASEIMAGE", "\n".join(lines) + "\n")
    write(d / "Dockerfile", "ARG BASEIMAGE\nFROM $BASEIMAGE\nLABEL image_version=x\n")
    write(d / "Dockerfile_windows",
          "ARG BASEIMAGE\nARG REGISTRY\nARG OS_VERSION\n"
          "FROM --platform=linux/amd64 $REGISTRY/windows-servercore-cache:1.0-linux-amd64-"
          "$OS_VERSION AS cache\nFROM $BASEIMAGE\nCOPY hostname /bin/hostname.exe\n")
    write(d / "Makefile", "SRCS=hostname\nOS ?= linux\nARCH ?= amd64\nexport\n\nbin:\n"
          "\t../image-util.sh bin $(SRCS)\n")
    # agnhost on busybox
    d = root / "agnhost"
    write(d / "VERSION", AGNHOST_VERSION + "\n")
    lines = [f"linux/{a}=REGISTRY/busybox:{BUSYBOX_VERSION}-linux-{a}" for a in LINUX]
    lines += [f"windows/amd64/{v}=REGISTRY/busybox:{BUSYBOX_VERSION}-windows-amd64-{v}"
              for v in WINDOWS]
    write(d / "BASEIMAGE", "\n".join(lines) + "\n")
    write(d / "Dockerfile", "ARG BASEIMAGE\nFROM $BASEIMAGE\nCOPY agnhost /agnhost\n"
          "# BASEARCH is substituted\n")
    write(d / "Makefile", "SRCS = agnhost\nARCH ?= amd64\nVERSION ?= $(shell cat VERSION)\n"
          "LD_FLAGS = -X 'main.Version=$(VERSION)'\n\nbin:\n\t../image-util.sh bin $(SRCS)\n")
    # kitten on agnhost, one Dockerfile for both OSes
    d = root / "kitten"
    write(d / "VERSION", "1.7\n")
    lines = [f"linux/{a}=REGISTRY/agnhost:{AGNHOST_VERSION}-linux-{a}" for a in LINUX]
    lines += [f"windows/amd64/{v}=REGISTRY/agnhost:{AGNHOST_VERSION}-windows-amd64-{v}"
              for v in WINDOWS]
    write(d / "BASEIMAGE", "\n".join(lines) + "\n")
    write(d / "Dockerfile", 'ARG BASEIMAGE\nFROM $BASEIMAGE\nCMD ["test-webserver"]\n')
    # httpd-new publishes as httpd
    d = root / "httpd-new"
    write(d / "VERSION", "2.4.39-4\n")
    write(d / "ALIAS", "httpd\n")
    write(d / "BASEIMAGE", "linux/amd64=httpd:2.4.39-alpine\nlinux/arm64=httpd:2.4.39-alpine\n")
    write(d / "Dockerfile", "ARG BASEIMAGE\nFROM $BASEIMAGE\n")
    write(d / "OWNERS", "approvers:\n  - alice\nreviewers:\n  - bob\n")
    # no BASEIMAGE: the five Linux arches, no base
    d = root / "resource-consumer"
    write(d / "VERSION", "1.13\n")
    write(d / "Dockerfile", "FROM scratch\nCOPY consumer /consumer\n")
    write(d / "Makefile", "SRCS = consumer\nexport\n\nbin:\n\t../image-util.sh bin $(SRCS)\n")
    # nested name
    d = root / "volume" / "nfs"
    write(d / "VERSION", "1.4\n")
    write(d / "BASEIMAGE", "linux/amd64=centos:8\nlinux/arm64=centos:8\n")
    write(d / "Dockerfile", "ARG BASEIMAGE\nFROM $BASEIMAGE\n")
    return root


def make_tiny_tree(root: Path) -> Path:
    """A catalog that really builds, fast and natively: `base` from scratch for two arches,
    `top` on `base` through REGISTRY, and `win` on the nanoserver stand-in."""
    root.mkdir(parents=True, exist_ok=True)
    d = root / "base"
    write(d / "VERSION", "1.0\n")
    write(d / "BASEIMAGE", "linux/amd64=scratch\nlinux/arm64=scratch\n")
    write(d / "Dockerfile", "FROM scratch\nCOPY hello.txt /hello.txt\n")
    write(d / "hello.txt", "hello\n")
    d = root / "top"
    write(d / "VERSION", "2.0\n")
    write(d / "BASEIMAGE", "linux/amd64=REGISTRY/base:1.0-linux-amd64\n"
          "linux/arm64=REGISTRY/base:1.0-linux-arm64\n")
    write(d / "Dockerfile", 'ARG BASEIMAGE\nFROM $BASEIMAGE\nCOPY top.txt /top.txt\n'
          'CMD ["/top.txt"]\n')
    write(d / "top.txt", "top\n")
    d = root / "win"
    write(d / "VERSION", "3.0\n")
    write(d / "BASEIMAGE", "windows/amd64/ltsc2022=mcr.microsoft.com/windows/nanoserver:ltsc2022\n")
    write(d / "Dockerfile", "ARG BASEIMAGE\nFROM $BASEIMAGE\nCOPY hello.txt /hello/hello.txt\n")
    write(d / "hello.txt", "hello windows\n")
    return root
