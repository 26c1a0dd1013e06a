package agent

import (
	"errors"
	"io/fs"
	"net/http"
	"strconv"

	"github.com/headroom-dev/headroom/agent/executor"
	"github.com/headroom-dev/headroom/internal/httpserver"
)

// fileRoutes serves a task's files, with the sandbox as the root (see
// executor.ReadFile):
//
//	GET /api/v1/tasks/{id}/files?path=DIR                        a directory's entries
//	GET /api/v1/tasks/{id}/files/read?path=F&offset=N&length=M   a chunk of a file
func (a *Agent) fileRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/tasks/{id}/files", func(w http.ResponseWriter, r *http.Request) {
		list, err := a.exec.ListFiles(r.PathValue("id"), r.URL.Query().Get("path"))
		if err != nil {
			fileError(w, "listing refused", err)
			return
		}
		httpserver.WriteJSON(w, http.StatusOK, list)
	})
	mux.HandleFunc("GET /api/v1/tasks/{id}/files/read", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		offset, err := queryInt(q.Get("offset"))
		if err != nil {
			httpserver.WriteError(w, http.StatusBadRequest, "invalid offset", err.Error())
			return
		}
		length, err := queryInt(q.Get("length"))
		if err != nil || length < 0 {
			httpserver.WriteError(w, http.StatusBadRequest, "invalid length",
				"length must be a number of bytes from 0 (the default of "+strconv.Itoa(executor.DefaultReadLength)+")")
			return
		}
		c, err := a.exec.ReadFile(r.PathValue("id"), q.Get("path"), offset, length)
		if err != nil {
			fileError(w, "read refused", err)
			return
		}
		httpserver.WriteJSON(w, http.StatusOK, c)
	})
}

func queryInt(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	return strconv.ParseInt(s, 10, 64)
}

func fileError(w http.ResponseWriter, msg string, err error) {
	code := http.StatusInternalServerError
	switch {
	case errors.Is(err, executor.ErrBadPath):
		code = http.StatusBadRequest
	case errors.Is(err, executor.ErrUnknownTask), errors.Is(err, fs.ErrNotExist):
		code = http.StatusNotFound
	case errors.Is(err, fs.ErrPermission):
		code = http.StatusForbidden
	}
	httpserver.WriteError(w, code, msg, err.Error())
}
