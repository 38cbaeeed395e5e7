package functions

import (
	"context"
	"encoding/json"
	"strings"
	"time"
)

// codeGrace protects freshly uploaded packages whose function record is not
// written yet from the collector.
const codeGrace = 15 * time.Minute

func (s *Service) kickGC() {
	select {
	case s.gcKick <- struct{}{}:
	default:
	}
}

func (s *Service) gcLoop(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.gcKick:
		}
		if err := s.collect(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("collect unreferenced code", "err", err)
		}
	}
}

// collect removes version records of deleted functions and code packages
// that no function or version references.
func (s *Service) collect(ctx context.Context) error {
	live := map[string]string{} // function key -> incarnation
	used := map[string]bool{}
	keys, err := s.functions.Keys(ctx, "")
	if err != nil {
		return err
	}
	for _, k := range keys {
		e, err := s.functions.Get(ctx, k)
		if err != nil {
			continue
		}
		var rec functionRecord
		if json.Unmarshal(e.Value, &rec) != nil {
			continue
		}
		live[k] = rec.Incarnation
		used[rec.CodeHash] = true
	}
	vkeys, err := s.versions.Keys(ctx, "")
	if err != nil {
		return err
	}
	for _, k := range vkeys {
		e, err := s.versions.Get(ctx, k)
		if err != nil {
			continue
		}
		var v versionRecord
		if json.Unmarshal(e.Value, &v) != nil {
			continue
		}
		fn := k[:strings.LastIndex(k, ".")]
		if live[fn] == v.Incarnation {
			used[v.CodeHash] = true
			continue
		}
		// A version written just before its function record (CreateFunction
		// with Publish) is young; anything older whose function is gone or
		// was recreated is unreachable.
		if time.Since(v.Created) < codeGrace {
			used[v.CodeHash] = true
			continue
		}
		if err := s.versions.Delete(ctx, k, e.Revision); err != nil {
			s.log.Warn("collect version record", "key", k, "err", err)
		}
	}
	objs, err := s.code.List(ctx)
	if err != nil {
		return err
	}
	for _, o := range objs {
		if used[o.Name] || time.Since(o.ModTime) < codeGrace {
			continue
		}
		if err := s.code.Delete(ctx, o.Name); err != nil {
			return err
		}
		s.log.Info("collected unreferenced code package", "sha256", o.Name)
	}
	return nil
}
