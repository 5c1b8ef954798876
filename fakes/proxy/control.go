package proxy

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
)

// maxControlBody bounds a control API request body.
const maxControlBody = 64 << 10

// ControlHandler serves the control API of a fault set, shaped after
// toxiproxy's:
//
//	GET    /faults         every fault, in the order they apply
//	POST   /faults         add one (a JSON spec): 201, 400 naming the field, 409 if the name is taken
//	DELETE /faults         remove every fault: 204
//	GET    /faults/{name}  one fault, or 404
//	POST   /faults/{name}  update one: the keys given replace its own, params merge; 200, 400 or 404
//	DELETE /faults/{name}  remove one: 204 or 404
//	GET    /kinds          the fault kinds of this proxy, with their params
//	GET    /metrics        m in the Prometheus text format
//
// A refused request changes nothing. Errors are {"error": "...", "field": "..."}.
func ControlHandler(f *Faults, m *Metrics) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /faults", func(w http.ResponseWriter, _ *http.Request) {
		list := f.List()
		out := make([]specOut, len(list))
		for i, s := range list {
			out[i] = specJSON(s)
		}
		writeJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("POST /faults", func(w http.ResponseWriter, r *http.Request) {
		body, ok := readBody(w, r)
		if !ok {
			return
		}
		s, err := DecodeSpecJSON(body, nil)
		if err == nil {
			s, err = f.Add(s)
		}
		if err != nil {
			writeErr(w, err)
			return
		}
		writeJSON(w, http.StatusCreated, specJSON(s))
	})
	mux.HandleFunc("DELETE /faults", func(w http.ResponseWriter, _ *http.Request) {
		f.Clear()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /faults/{name}", func(w http.ResponseWriter, r *http.Request) {
		s, ok := f.Get(r.PathValue("name"))
		if !ok {
			writeErr(w, &FieldError{Field: "name", Msg: "no fault named " + quote(r.PathValue("name")), Err: ErrNotFound})
			return
		}
		writeJSON(w, http.StatusOK, specJSON(s))
	})
	mux.HandleFunc("POST /faults/{name}", func(w http.ResponseWriter, r *http.Request) {
		body, ok := readBody(w, r)
		if !ok {
			return
		}
		cur, found := f.Get(r.PathValue("name"))
		if !found {
			writeErr(w, &FieldError{Field: "name", Msg: "no fault named " + quote(r.PathValue("name")), Err: ErrNotFound})
			return
		}
		s, err := DecodeSpecJSON(body, &cur)
		if err == nil {
			s, err = f.Update(s)
		}
		if err != nil {
			writeErr(w, err)
			return
		}
		writeJSON(w, http.StatusOK, specJSON(s))
	})
	mux.HandleFunc("DELETE /faults/{name}", func(w http.ResponseWriter, r *http.Request) {
		if err := f.Remove(r.PathValue("name")); err != nil {
			writeErr(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /kinds", func(w http.ResponseWriter, _ *http.Request) {
		type kindJSON struct {
			Name    string     `json:"name"`
			Summary string     `json:"summary"`
			Params  []ParamDoc `json:"params"`
		}
		var out []kindJSON
		for _, k := range Kinds() {
			if k.Protocols&f.Protocol() != 0 {
				out = append(out, kindJSON{k.Name, k.Summary, append([]ParamDoc{}, k.Params...)})
			}
		}
		writeJSON(w, http.StatusOK, out)
	})
	mux.Handle("GET /metrics", m.Handler())
	return mux
}

func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxControlBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": "body: larger than 64 KiB", "field": "body"})
		} else {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "body: " + err.Error(), "field": "body"})
		}
		return nil, false
	}
	return body, true
}

// writeErr answers 404 (no such fault), 409 (name taken) or 400 (bad spec).
func writeErr(w http.ResponseWriter, err error) {
	code := http.StatusBadRequest
	switch {
	case errors.Is(err, ErrNotFound):
		code = http.StatusNotFound
	case errors.Is(err, ErrExists):
		code = http.StatusConflict
	}
	out := map[string]string{"error": err.Error()}
	var fe *FieldError
	if errors.As(err, &fe) {
		out["field"] = fe.Field
	}
	writeJSON(w, code, out)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
