package billing

// The write(2) path of the journal, where segments are not mapped: each group of records is one
// write to the current segment. Appends that arrive while a write is under way gather in the
// open group and are written together by the first of them (group commit).

// group is the records of the calls finishing together, written in one write(2).
type group struct {
	buf     []byte
	n       int64
	written bool     // the write is done (seg and err are its outcome)
	seg     *segment // where the group was written
	err     error
}

// appendWrite adds rec's line to the open group and returns once the group is written.
func (j *Journal) appendWrite(rec *Record) (*segment, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return nil, errJournalClosed
	}
	g := j.open
	if g == nil {
		g = &group{buf: j.spare[:0]}
		j.spare = nil
		j.open = g
	}
	g.buf = appendLine(g.buf, rec)
	g.n++
	for !g.written {
		if j.writing {
			j.cond.Wait()
			continue
		}
		j.writeOpen() // g is the open group: no write is under way and g is not written
	}
	return g.seg, g.err
}

// writeOpen writes the open group (j.mu held; released during the write itself).
func (j *Journal) writeOpen() {
	g := j.open
	j.open, j.writing = nil, true
	if j.cur.size+int64(len(g.buf)) > j.cfg.SegmentBytes && j.cur.size > int64(len(j.header)) {
		if seg, err := j.newSegment(0); err == nil {
			j.rotate(seg)
		} else {
			j.cfg.Log.Error("usage journal: cannot start a new segment; appending to the current one", "error", err)
		}
	}
	seg := j.cur
	seg.pending += g.n // counted before the write: Written must not truncate under it
	j.mu.Unlock()
	n, err := seg.f.Write(g.buf)
	j.mu.Lock()
	seg.size += int64(n)
	g.written, j.writing = true, false
	if j.spare == nil {
		j.spare = g.buf[:0]
	}
	g.buf = nil
	j.cond.Broadcast()
	if err != nil {
		g.err = j.appendFailed(err, g.n)
		seg.pending -= g.n
		return
	}
	j.appended(seg, g.n)
	g.seg = seg
}

// finishWrites waits for the writes under way and writes the open group (j.mu held): appends
// already under way when the journal closes finish first.
func (j *Journal) finishWrites() {
	for j.writing || j.open != nil {
		if !j.writing {
			j.writeOpen()
			continue
		}
		j.cond.Wait()
	}
}
