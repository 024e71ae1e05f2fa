package netexec

import (
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"strconv"
)

// Options are what the handlers need from the process, injectable so tests
// neither exit nor run commands for real.
type Options struct {
	Hostname string
	// Exit is called after the /exit response is written.
	Exit func(code int)
	// Shell runs a command line and returns its combined output.
	Shell func(cmdline string) ([]byte, error)
}

// ShellResult is the JSON body of /shell, the shape e2e tests decode.
type ShellResult struct {
	Output string `json:"output"`
	Error  string `json:"error,omitempty"`
}

// NewHandler routes the netexec endpoints.
func NewHandler(o Options) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, "NOW: netexec")
	})
	mux.HandleFunc("/hostname", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, o.Hostname)
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, r.FormValue("msg"))
	})
	mux.HandleFunc("/clientip", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, r.RemoteAddr)
	})
	mux.HandleFunc("/header", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, r.Header.Get(r.FormValue("key")))
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, "ok")
	})
	mux.HandleFunc("/exit", func(w http.ResponseWriter, r *http.Request) {
		exitHandler(w, r, o.Exit)
	})
	mux.HandleFunc("/shell", func(w http.ResponseWriter, r *http.Request) {
		shellHandler(w, r, o.Shell)
	})
	return mux
}

func exitHandler(w http.ResponseWriter, r *http.Request, exit func(int)) {
	code := 0
	if s := r.FormValue("code"); s != "" {
		c, err := strconv.Atoi(s)
		if err != nil || c < 0 || c > 255 {
			http.Error(w, fmt.Sprintf("code must be an integer in 0..255, got %q", s), http.StatusBadRequest)
			return
		}
		code = c
	}
	log.Printf("exit requested with code %d", code)
	fmt.Fprintf(w, "exiting with code %d", code)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	exit(code)
}

func shellHandler(w http.ResponseWriter, r *http.Request, shell func(string) ([]byte, error)) {
	cmdline := r.FormValue("cmd")
	if cmdline == "" {
		http.Error(w, "missing cmd", http.StatusBadRequest)
		return
	}
	out, err := shell(cmdline)
	res := ShellResult{Output: string(out)}
	if err != nil {
		res.Error = err.Error()
	}
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(res); err != nil {
		log.Printf("write /shell reply: %v", err)
	}
}
