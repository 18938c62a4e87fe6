// Command tlog-check answers JSON requests on stdin, one JSON answer a line on stdout, with Go's reference
// implementation of transparency logs (golang.org/x/mod/sumdb/tlog and sumdb/note): the ledger's tests check its
// proofs and signed notes against code that shares nothing with it.
//
//	{"op":"inclusion","leafHash":B64,"index":N,"treeSize":N,"proof":[B64],"rootHash":B64}
//	{"op":"consistency","from":N,"to":N,"proof":[B64],"fromRoot":B64,"toRoot":B64}
//	{"op":"note","verifierKey":"name+hash+key","note":"..."}
//
// The answer is {"ok":true} (with "text" for a note) or {"ok":false,"error":"..."}.
package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type request struct {
	Op          string   `json:"op"`
	LeafHash    string   `json:"leafHash"`
	Index       int64    `json:"index"`
	TreeSize    int64    `json:"treeSize"`
	Proof       []string `json:"proof"`
	RootHash    string   `json:"rootHash"`
	From        int64    `json:"from"`
	To          int64    `json:"to"`
	FromRoot    string   `json:"fromRoot"`
	ToRoot      string   `json:"toRoot"`
	VerifierKey string   `json:"verifierKey"`
	Note        string   `json:"note"`
}

type answer struct {
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
	Text  string `json:"text,omitempty"`
}

func hash(text string) (tlog.Hash, error) {
	var h tlog.Hash
	raw, err := base64.StdEncoding.DecodeString(text)
	if err != nil {
		return h, err
	}
	if len(raw) != tlog.HashSize {
		return h, fmt.Errorf("a hash of %d bytes", len(raw))
	}
	copy(h[:], raw)
	return h, nil
}

func hashes(texts []string) ([]tlog.Hash, error) {
	list := make([]tlog.Hash, len(texts))
	for i, text := range texts {
		h, err := hash(text)
		if err != nil {
			return nil, err
		}
		list[i] = h
	}
	return list, nil
}

func run(r request) (text string, err error) {
	// tlog panics on "bad math" rather than returning an error: report it as a failure all the same.
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	switch r.Op {
	case "inclusion":
		leaf, err := hash(r.LeafHash)
		if err != nil {
			return "", err
		}
		root, err := hash(r.RootHash)
		if err != nil {
			return "", err
		}
		proof, err := hashes(r.Proof)
		if err != nil {
			return "", err
		}
		return "", tlog.CheckRecord(tlog.RecordProof(proof), r.TreeSize, root, r.Index, leaf)
	case "consistency":
		fromRoot, err := hash(r.FromRoot)
		if err != nil {
			return "", err
		}
		toRoot, err := hash(r.ToRoot)
		if err != nil {
			return "", err
		}
		proof, err := hashes(r.Proof)
		if err != nil {
			return "", err
		}
		return "", tlog.CheckTree(tlog.TreeProof(proof), r.To, toRoot, r.From, fromRoot)
	case "note":
		verifier, err := note.NewVerifier(r.VerifierKey)
		if err != nil {
			return "", err
		}
		opened, err := note.Open([]byte(r.Note), note.VerifierList(verifier))
		if err != nil {
			return "", err
		}
		return opened.Text, nil
	}
	return "", fmt.Errorf("unknown op %q", r.Op)
}

func main() {
	in := json.NewDecoder(os.Stdin)
	out := json.NewEncoder(os.Stdout)
	for {
		var r request
		if err := in.Decode(&r); err == io.EOF {
			return
		} else if err != nil {
			fmt.Fprintln(os.Stderr, "bad request:", err)
			os.Exit(2)
		}
		var a answer
		if text, err := run(r); err != nil {
			a.Error = err.Error()
		} else {
			a.OK, a.Text = true, text
		}
		if err := out.Encode(a); err != nil {
			os.Exit(1)
		}
	}
}
