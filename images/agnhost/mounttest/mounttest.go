// Package mounttest implements "agnhost mounttest": it reports the type,
// mode, permissions, owner and content of paths inside a mounted volume,
// and can create files with a given mode, so volume tests can assert on
// what the container really sees.
package mounttest

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"e2e-images/agnhost/internal/command"
)

const name = "mounttest"

// Command runs the mount checks named by its flags, in a fixed order.
var Command = command.Command{
	Name:    name,
	Summary: "report type, mode, permissions, owner or content of files in a volume",
	Run:     run,
}

// newFileContent is what the --new_file_* flags write.
const newFileContent = "mount-tester new file\n"

type options struct {
	fsType, fileMode, filePerm, fileOwner string
	newFiles                              map[os.FileMode]*string
	content, contentInLoop                string
	retry                                 time.Duration
	breakOnExpected                       bool
}

func run(_ context.Context, args []string, out io.Writer) error {
	fs := command.NewFlagSet(name)
	o := options{newFiles: map[os.FileMode]*string{}}
	fs.StringVar(&o.fsType, "fs_type", "", "path to report the filesystem type of")
	fs.StringVar(&o.fileMode, "file_mode", "", "path to report the full mode of")
	fs.StringVar(&o.filePerm, "file_perm", "", "path to report the permission bits of")
	fs.StringVar(&o.fileOwner, "file_owner", "", "path to report the owner UID and GID of")
	for _, perm := range []os.FileMode{0o644, 0o666, 0o660, 0o777} {
		o.newFiles[perm] = fs.String(fmt.Sprintf("new_file_%04o", perm), "",
			fmt.Sprintf("path of a new file to create with mode %04o", perm))
	}
	fs.StringVar(&o.content, "file_content", "", "path to print the content of")
	fs.StringVar(&o.contentInLoop, "file_content_in_loop", "",
		"path to print the content of, retrying until it is readable and non-empty")
	retrySeconds := fs.Int("retry_time", 180, "seconds --file_content_in_loop keeps retrying")
	fs.BoolVar(&o.breakOnExpected, "break_on_expected_content", true,
		"stop --file_content_in_loop at the first non-empty content")
	if err := command.Parse(fs, args); err != nil {
		return err
	}
	o.retry = time.Duration(*retrySeconds) * time.Second
	return o.run(out)
}

// run performs the checks in a stable order: new files first, so the other
// flags can report on them.
func (o options) run(out io.Writer) error {
	for _, perm := range []os.FileMode{0o644, 0o666, 0o660, 0o777} {
		if path := *o.newFiles[perm]; path != "" {
			if err := createFile(path, perm); err != nil {
				return err
			}
		}
	}
	steps := []struct {
		path string
		do   func(io.Writer, string) error
	}{
		{o.fsType, reportFSType},
		{o.fileMode, reportMode},
		{o.filePerm, reportPerm},
		{o.fileOwner, reportOwner},
		{o.content, reportContent},
	}
	for _, s := range steps {
		if s.path == "" {
			continue
		}
		if err := s.do(out, s.path); err != nil {
			return err
		}
	}
	if o.contentInLoop != "" {
		return reportContentInLoop(out, o.contentInLoop, o.retry, o.breakOnExpected)
	}
	return nil
}

func createFile(path string, perm os.FileMode) error {
	if err := os.WriteFile(path, []byte(newFileContent), perm); err != nil {
		return fmt.Errorf("create %q: %w", path, err)
	}
	// Chmod, unlike the create above, is not narrowed by the umask.
	if err := os.Chmod(path, perm); err != nil {
		return fmt.Errorf("chmod %q: %w", path, err)
	}
	return nil
}

// FormatMode renders a mode as ls does ("-rw-r--r--", "drwxrwxrwt" is
// shown by Go as "dtrwxrwxrwx"); it is the same on every OS.
func FormatMode(m os.FileMode) string { return m.String() }

// FormatPerm renders only the permission bits ("-rw-r--r--"). On Windows
// the os package derives them from the read-only attribute (0666 or 0444
// for files, 0777 for directories), so no ACL tool has to run.
func FormatPerm(m os.FileMode) string { return m.Perm().String() }

func reportMode(out io.Writer, path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("stat %q: %w", path, err)
	}
	_, err = fmt.Fprintf(out, "mode of file %q: %s\n", path, FormatMode(fi.Mode()))
	return err
}

func reportPerm(out io.Writer, path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("stat %q: %w", path, err)
	}
	_, err = fmt.Fprintf(out, "perms of file %q: %s\n", path, FormatPerm(fi.Mode()))
	return err
}

func reportOwner(out io.Writer, path string) error {
	uid, gid, err := owner(path)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, "owner UID of %q: %d\nowner GID of %q: %d\n", path, uid, path, gid)
	return err
}

func reportFSType(out io.Writer, path string) error {
	name, err := fsTypeName(path)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, "mount type of %q: %s\n", path, name)
	return err
}

func reportContent(out io.Writer, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read %q: %w", path, err)
	}
	_, err = fmt.Fprintf(out, "content of file %q: %s\n", path, b)
	return err
}

// reportContentInLoop prints the content once a second until it is
// readable and non-empty (or on every round when breakOnExpected is false),
// giving up after retry.
func reportContentInLoop(out io.Writer, path string, retry time.Duration, breakOnExpected bool) error {
	deadline := time.Now().Add(retry)
	for {
		b, err := os.ReadFile(path)
		switch {
		case err != nil:
			fmt.Fprintf(out, "error reading file content for %q: %v\n", path, err)
		default:
			fmt.Fprintf(out, "content of file %q: %s\n", path, b)
			if breakOnExpected && len(b) > 0 {
				return nil
			}
		}
		if !time.Now().Before(deadline) {
			if err != nil {
				return fmt.Errorf("read %q: %w", path, err)
			}
			return nil
		}
		time.Sleep(time.Second)
	}
}
