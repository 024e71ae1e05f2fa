package mounttest

import "fmt"

// magicNames maps statfs(2) f_type values to the names tests expect.
var magicNames = map[uint32]string{
	0x01021994: "tmpfs",
	0x858458f6: "ramfs",
	0x0000ef53: "ext4", // ext2, ext3 and ext4 share this magic
	0x58465342: "xfs",
	0x9123683e: "btrfs",
	0x794c7630: "overlay",
	0x00006969: "nfs",
	0x00009fa0: "proc",
	0x62656572: "sysfs",
	0x65735546: "fuse",
	0x01021997: "9p",
}

// MagicName names a filesystem magic number, or formats it in hex.
func MagicName(magic uint32) string {
	if name, ok := magicNames[magic]; ok {
		return name
	}
	return fmt.Sprintf("0x%x", magic)
}
