package functions

import (
	"context"
	"encoding/json"
	"errors"
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
	layerRefs := map[string]bool{} // layer version ARNs that functions name
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
		for _, l := range rec.Latest.Layers {
			layerRefs[l.Arn] = true
		}
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
			for _, l := range v.Config.Layers {
				layerRefs[l.Arn] = true
			}
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
	if err := s.collectLayers(ctx, layerRefs, used); err != nil {
		return err
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

// collectLayers drops deleted layer versions that no function names any
// more and marks the content of every other version used.
func (s *Service) collectLayers(ctx context.Context, refs, used map[string]bool) error {
	keys, err := s.layers.Keys(ctx, "")
	if err != nil {
		return err
	}
	for _, k := range keys {
		acct, name, ok := strings.Cut(k, ".")
		if !ok {
			continue
		}
		l := LayerRef{Account: acct, Name: name}
		rec, err := s.mutateLayer(ctx, l, func(rec *layerRecord) (*layerRecord, error) {
			if rec == nil {
				return nil, errUnchanged
			}
			keep := rec.Versions[:0]
			for _, v := range rec.Versions {
				if !v.Deleted || refs[LayerVersionARN(s.cfg.Region, l, v.Version)] {
					keep = append(keep, v)
				}
			}
			if len(keep) == len(rec.Versions) {
				return rec, errUnchanged
			}
			rec.Versions = keep
			return rec, nil
		})
		if errors.Is(err, errUnchanged) {
			rec, _, err = s.loadLayer(ctx, l)
		}
		if err != nil {
			return err
		}
		if rec == nil {
			continue
		}
		for _, v := range rec.Versions {
			used[v.CodeHash] = true
		}
	}
	return nil
}
