"""File, metadata, symlink, Go binary, size and root-image checks on built images."""

from __future__ import annotations

from verify_builders import (
    APPLETS,
    Builder,
    buildkit_tar,
    busybox_shape,
    fake_go_elf,
    fake_go_pe,
    with_windows_runtime,
)

from e2e_images.layers.linux import FileKind, LayerEntry
from e2e_images.layers.winentries import WinEntry
from e2e_images.oci.models import ImagePlatform
from e2e_images.verify.checks.file_content import FileContent, FileContentCheck
from e2e_images.verify.checks.file_existence import FileExistence, FileExistenceCheck
from e2e_images.verify.checks.go_binary import GoBinary, GoBinaryCheck, binary_machine
from e2e_images.verify.checks.metadata import ANY, MetadataCheck
from e2e_images.verify.checks.root_image import BaseImage, RootImageCheck
from e2e_images.verify.checks.size import SizeCheck, parse_size
from e2e_images.verify.checks.symlinks import SymlinkCheck
from e2e_images.verify.view import ImageView

VCRUNTIME = FileExistence("/Windows/System32/vcruntime140.dll")


def _root(image) -> BaseImage:
    return BaseImage("root", tuple(d.digest for d in image.manifest.layers),
                     image.config.platform.os_version)


def test_missing_vcruntime_is_named():
    b = Builder()
    check = FileExistenceCheck((VCRUNTIME, FileExistence("/bin/busybox.exe")))
    assert check.run(ImageView(b.busybox("ltsc2022"))).passed
    result = check.run(ImageView(b.busybox("ltsc2022", vcruntime=False)))
    assert [(f.check, f.subject, f.message) for f in result.findings] == [
        ("FILE-EXISTS", "/Windows/System32/vcruntime140.dll", "missing")]


def test_fast_mode_leaves_base_paths_unverified_instead_of_missing():
    b = Builder()
    image = b.busybox("1809")
    check = FileExistenceCheck((FileExistence("/Windows/System32/cmd.exe"), VCRUNTIME,
                                FileExistence("/nope.txt")))
    fast = check.run(ImageView(image, base_layers=1, fast=True))
    assert fast.passed and set(fast.unverified) == {"/Windows/System32/cmd.exe", "/nope.txt"}
    full = check.run(ImageView(image, base_layers=1))
    assert [f.subject for f in full.findings] == ["/nope.txt"] and not full.unverified


def test_servercore_base_fails_the_nanoserver_root_check():
    b = Builder()
    nano, core = _root(b.base("ltsc2022")), _root(b.base("ltsc2022", "servercore"))
    check = RootImageCheck(nano, (core,))
    assert check.run(ImageView(b.busybox("ltsc2022"))).passed
    result = check.run(ImageView(b.busybox("ltsc2022", flavor="servercore")))
    assert {f.check for f in result.findings} == {"BASE-ROOT"}
    assert any("not allowed" in f.message for f in result.findings)
    other_release = check.run(ImageView(b.busybox("1809")))
    assert [f.check for f in other_release.findings] == ["BASE-ROOT"]


def test_busybox_applet_links_must_be_relative_and_resolve_to_busybox():
    b = Builder()
    check = SymlinkCheck("/bin", "/bin/busybox.exe", min_count=4)
    assert check.run(ImageView(b.busybox("ltsc2025"))).passed
    result = check.run(ImageView(b.busybox("ltsc2025", link_prefix="Files/")))
    assert len(result.findings) == 4
    assert all(f.check == "LINKS" and "Files/" in f.message for f in result.findings)
    absolute = check.run(ImageView(b.busybox("ltsc2025", link_prefix="/bin/")))
    assert {f.message.split(",")[0] for f in absolute.findings} == {
        "target '/bin/busybox.exe' is absolute"}
    dangling = b.add(b.base("ltsc2025"), entries=[
        WinEntry.symlink("bin/ls.exe", "busybox.exe"),
        WinEntry.symlink("bin/x.exe", "hostname.exe"),
        WinEntry.file("bin/hostname.exe", b"MZ")])
    result = check.run(ImageView(dangling))
    messages = {f.subject: f.message for f in result.findings}
    assert messages["/bin/busybox.exe"] == "link target binary missing"
    assert "does not resolve" in messages["/bin/ls.exe"]
    assert "at least 4" in messages["/bin"]


def test_buildkit_prefixed_applet_links_are_warnings_when_a_copy_waits_there():
    """Upstream's busybox ships bin/Files/busybox.exe, so BuildKit's `Files/busybox.exe`
    targets resolve (relative to bin/) to a copy of the binary: the applets work."""
    b = Builder()
    check = SymlinkCheck("/bin", "/bin/busybox.exe", min_count=4)
    for workaround, severity in ((True, "warning"), (False, "error")):
        image = with_windows_runtime(b, b.add(b.base("ltsc2022"),
                                              raw=buildkit_tar(busybox_shape(
                                                  workaround=workaround))))
        result = check.run(ImageView(image))
        assert {f.subject for f in result.findings} == {f"/bin/{a}.exe" for a in APPLETS}
        assert {f.severity for f in result.findings} == {severity}
        assert result.passed == workaround


def test_go_binaries_machine_and_version():
    b = Builder()
    win = b.add(b.base("ltsc2022"), entries=[
        WinEntry.file("agnhost", fake_go_pe("2.52")),
        WinEntry.file("arm.exe", fake_go_pe("2.52", machine=0xAA64)),
        WinEntry.file("elf", fake_go_elf("2.52")), WinEntry.file("text", b"hello")])
    check = GoBinaryCheck((GoBinary("/agnhost", "2.52"), GoBinary("/arm.exe"), GoBinary("/elf"),
                           GoBinary("/text"), GoBinary("/agnhost", "9.99")))
    found = {(f.subject, f.check, f.message.split(" ")[0]) for f in
             check.run(ImageView(win)).findings}
    assert found == {("/arm.exe", "GO-MACHINE", "PE"), ("/elf", "GO-MACHINE", "ELF"),
                     ("/text", "GO-MACHINE", "not"), ("/text", "GO-VERSION", "no"),
                     ("/agnhost", "GO-VERSION", "version")}
    linux = b.add(b.scratch(ImagePlatform("linux", "s390x")), linux=[
        LayerEntry("/agnhost", data=fake_go_elf("2.52", machine=22, little=False), mode=0o755)])
    assert GoBinaryCheck((GoBinary("/agnhost", "2.52"),)).run(ImageView(linux)).passed
    assert binary_machine(fake_go_elf(machine=22, little=True))[0] == ""  # s390x is big endian


def test_metadata_fields():
    b = Builder()
    image = b.add(b.busybox("1809"), runtime={"Labels": {"image_version": "1.0"},
                                              "ExposedPorts": {"80/tcp": {}}, "Cmd": ["x"]})
    good = MetadataCheck(env={"PATH": ANY}, entrypoint=("cmd.exe", "/s", "/c"), cmd=("x",),
                         labels={"image_version": "1.0"}, exposed_ports=("80",),
                         user="ContainerAdministrator")
    assert good.run(ImageView(image)).passed
    bad = MetadataCheck(env={"FOO": "1"}, unset_env=("PATH",), entrypoint=("/agnhost",),
                        cmd=(), labels={"commit_id": ANY, "image_version": "2"},
                        exposed_ports=("8080/tcp",), workdir="/x", user="root")
    ids = [f.check for f in bad.run(ImageView(image)).findings]
    assert sorted(ids) == sorted(["META-ENV", "META-ENV", "META-ENTRYPOINT", "META-CMD",
                                  "META-LABEL", "META-LABEL", "META-PORTS", "META-WORKDIR",
                                  "META-USER"])


def test_file_content_permissions_and_links_on_linux():
    b = Builder()
    image = b.add(b.scratch(ImagePlatform("linux", "amd64")), linux=[
        LayerEntry("/agnhost", data=b"\x7fELF...", mode=0o755),
        LayerEntry("/agnhost-2", FileKind.SYMLINK, link="agnhost", mode=0o777),
        LayerEntry("/index.html", data=b"<html>kitten</html>")])
    view = ImageView(image)
    files = FileExistenceCheck((
        FileExistence("/agnhost", permissions="-rwxr-xr-x", uid=0),
        FileExistence("/agnhost-2", is_symlink=True, link_target="agnhost"),
        FileExistence("/index.html", permissions="0600"),
        FileExistence("/agnhost-2", is_symlink=True, link_target="/agnhost"),
        FileExistence("/index.html", should_exist=False)))
    found = [(f.check, f.subject) for f in files.run(view).findings]
    assert found == [("FILE-MODE", "/index.html"), ("FILE-SYMLINK", "/agnhost-2"),
                     ("FILE-EXISTS", "/index.html")]
    content = FileContentCheck((FileContent("/index.html", ("kitten",), ("nautilus",)),
                                FileContent("/index.html", ("^nautilus",)),
                                FileContent("/missing", ("x",))))
    found = [(f.subject, f.message.split(" ")[0]) for f in content.run(view).findings]
    assert found == [("/index.html", "no"), ("/missing", "cannot")]


def test_size_budget_counts_added_layers():
    b = Builder()
    image = b.busybox("ltsc2022")
    added = sum(d.size for d in image.manifest.layers[1:])
    assert SizeCheck(added_bytes=added).run(ImageView(image, base_layers=1)).passed
    result = SizeCheck(added_bytes=added - 1, total_bytes=100).run(ImageView(image,
                                                                             base_layers=1))
    assert [f.subject for f in result.findings] == ["addedLayers", "layers"]
    assert parse_size("20MiB") == 20 << 20 and parse_size("1.5 KB") == 1500
