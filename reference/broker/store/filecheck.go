package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"math/bits"
	"os"
)

// bbolt trusts its file: it follows page ids and element offsets read from
// the mmap without bounds checks, so a damaged page can make it read past
// the file (a fault), recurse around a cycle of pages (a stack overflow),
// or fail inside a goroutine of its own (tx.Check, its free page scan),
// and no recover catches any of those. checkFile therefore reads the file
// with plain reads, before bbolt maps it, and refuses anything bbolt could
// trip on; bbolt's tx.Check then runs on a file it can walk safely, and
// adds what checkFile leaves to it (key order, free pages in use, pages
// neither used nor free).

// bbolt's file format (go.etcd.io/bbolt/internal/common), in the host's
// byte order as bbolt writes it.
const (
	boltMagic        = 0xED0CDAED
	boltVersion      = 2
	pageHeaderSize   = 16 // id u64, flags u16, count u16, overflow u32
	elementSize      = 16 // branch: pos u32, ksize u32, pgid u64; leaf: flags, pos, ksize, vsize u32
	metaSize         = 64 // after the page header
	metaSumLen       = 56 // the meta fields its FNV-64a checksum covers
	bucketHeaderSize = 16 // root pgid u64, sequence u64
	branchPageFlag   = 0x01
	leafPageFlag     = 0x02
	freelistPageFlag = 0x10
	bucketLeafFlag   = 0x01
	noFreelist       = ^uint64(0)
	minPageSize      = 1 << 10
	maxPageSize      = 1 << 24 // the largest bbolt looks for its second meta page at
)

// byteOrder is bbolt's: the host's.
var byteOrder = binary.NativeEndian

// boltMeta is the part of a meta page checkFile needs.
type boltMeta struct {
	pageSize uint64
	root     uint64 // the root bucket's page
	freelist uint64
	pgid     uint64 // the high water mark: pages [0, pgid) are in use or free
	txid     uint64
}

// parseMeta reads the meta at the start of b (after the page header) and
// checks its magic, version and checksum as bbolt does.
func parseMeta(b []byte) (boltMeta, error) {
	if len(b) < metaSize {
		return boltMeta{}, errors.New("too short")
	}
	m := boltMeta{
		pageSize: uint64(byteOrder.Uint32(b[8:])),
		root:     byteOrder.Uint64(b[16:]),
		freelist: byteOrder.Uint64(b[32:]),
		pgid:     byteOrder.Uint64(b[40:]),
		txid:     byteOrder.Uint64(b[48:]),
	}
	h := fnv.New64a()
	h.Write(b[:metaSumLen])
	switch {
	case byteOrder.Uint32(b[0:]) != boltMagic:
		return m, errors.New("no bbolt magic number")
	case byteOrder.Uint32(b[4:]) != boltVersion:
		return m, fmt.Errorf("bbolt format version %d, want %d", byteOrder.Uint32(b[4:]), boltVersion)
	case byteOrder.Uint64(b[metaSumLen:]) != h.Sum64():
		return m, errors.New("checksum mismatch")
	}
	return m, nil
}

// fileChecker walks one bbolt file.
type fileChecker struct {
	r        io.ReaderAt
	pageSize uint64
	pgid     uint64 // the high water mark
	used     []bool // pages already claimed by the tree or the free list
	buf      []byte
}

// checkFile checks that the bbolt file f can be opened and walked by bbolt
// without it reading outside the file or looping: a valid meta page, a
// high water mark inside the file, a free list and a tree of pages whose
// headers, elements and bucket values all lie within their pages, each
// page claimed once. Errors wrapping *fs.PathError are the file system's;
// any other error says what is wrong with the contents.
func checkFile(f *os.File) error {
	info, err := f.Stat()
	if err != nil {
		return err
	}
	size := uint64(info.Size())
	if size == 0 {
		return errors.New("the file is empty (0 bytes): only a missing broker.db starts a new store")
	}
	c := &fileChecker{r: f}
	m, err := c.meta(size)
	if err != nil {
		return err
	}
	c.pageSize, c.pgid = m.pageSize, m.pgid
	if c.pgid < 4 {
		// Two metas, the free list and the root.
		return fmt.Errorf("the meta page says the file has %d pages, fewer than the 4 of an empty store", c.pgid)
	}
	if c.pgid > size/c.pageSize {
		return fmt.Errorf("file is %d bytes, its meta page says %d (%d pages of %d): truncated", size, saturatingMul(c.pgid, c.pageSize), c.pgid, c.pageSize)
	}
	if m.freelist == noFreelist {
		return errors.New("the meta page has no free list: not a file this broker wrote")
	}
	c.used = make([]bool, c.pgid)
	c.used[0], c.used[1] = true, true
	if err := c.freelist(m.freelist); err != nil {
		return err
	}
	return c.tree(m.root)
}

// meta finds the meta page bbolt would use: it reads the page size from
// the first meta page, or the second where bbolt looks for it, then takes
// the valid meta with the larger transaction id.
func (c *fileChecker) meta(size uint64) (boltMeta, error) {
	var pageSize uint64
	if m0, err := c.readMeta(0); err == nil {
		pageSize = m0.pageSize
	} else if isReadErr(err) {
		return boltMeta{}, err
	} else {
		for i := range 15 {
			pos := uint64(minPageSize) << i
			if pos+minPageSize >= size {
				break
			}
			m1, err := c.readMeta(pos)
			if isReadErr(err) {
				return boltMeta{}, err
			}
			if err == nil {
				pageSize = m1.pageSize
				break
			}
		}
	}
	if pageSize == 0 {
		return boltMeta{}, fmt.Errorf("no valid meta page in %d bytes: not a bbolt file, or both its meta pages are damaged", size)
	}
	if pageSize < minPageSize || pageSize > maxPageSize || bits.OnesCount64(pageSize) != 1 {
		return boltMeta{}, fmt.Errorf("page size %d: not one this broker writes", pageSize)
	}
	var metas [2]boltMeta
	var errs [2]error
	for i := range metas {
		metas[i], errs[i] = c.readMeta(uint64(i) * pageSize)
		if isReadErr(errs[i]) {
			return boltMeta{}, errs[i]
		}
	}
	// As bbolt's DB.meta: the later transaction if its meta is valid, else
	// the earlier one (a crash can tear the meta page being written).
	a, b := 0, 1
	if metas[1].txid > metas[0].txid {
		a, b = 1, 0
	}
	m := metas[a]
	if errs[a] != nil {
		if errs[b] != nil {
			return boltMeta{}, fmt.Errorf("both meta pages are damaged: %v; %v", errs[0], errs[1])
		}
		m = metas[b]
	}
	if m.pageSize != pageSize {
		return boltMeta{}, fmt.Errorf("meta page says pages of %d bytes, the file has pages of %d", m.pageSize, pageSize)
	}
	return m, nil
}

// readMeta reads the meta page at byte offset off.
func (c *fileChecker) readMeta(off uint64) (boltMeta, error) {
	buf := make([]byte, pageHeaderSize+metaSize)
	n, err := c.r.ReadAt(buf, int64(off))
	if err := readErr(err); err != nil {
		return boltMeta{}, err
	}
	if n < len(buf) {
		return boltMeta{}, errors.New("the file ends inside it")
	}
	return parseMeta(buf[pageHeaderSize:])
}

// page reads page id and its overflow pages, claiming them, and returns
// the bytes and the header's flags and count.
func (c *fileChecker) page(id uint64, what string) ([]byte, uint16, uint16, error) {
	if id < 2 || id >= c.pgid {
		return nil, 0, 0, fmt.Errorf("%s is page %d, outside the file's pages [2, %d)", what, id, c.pgid)
	}
	c.buf = c.buf[:0]
	head, err := c.read(id, 1)
	if err != nil {
		return nil, 0, 0, err
	}
	hid, flags, count := byteOrder.Uint64(head), byteOrder.Uint16(head[8:]), byteOrder.Uint16(head[10:])
	overflow := uint64(byteOrder.Uint32(head[12:]))
	switch {
	case hid != id:
		return nil, 0, 0, fmt.Errorf("page %d (%s) says it is page %d: zeroed or overwritten", id, what, hid)
	case overflow >= c.pgid-id:
		return nil, 0, 0, fmt.Errorf("page %d (%s) runs %d pages past the file's %d", id, what, overflow+1, c.pgid)
	}
	for p := id; p <= id+overflow; p++ {
		if c.used[p] {
			return nil, 0, 0, fmt.Errorf("page %d is used twice (again by %s)", p, what)
		}
		c.used[p] = true
	}
	if overflow > 0 {
		if head, err = c.read(id, overflow+1); err != nil {
			return nil, 0, 0, err
		}
	}
	return head, flags, count, nil
}

// read reads n pages from page id into c.buf.
func (c *fileChecker) read(id, n uint64) ([]byte, error) {
	size := int(n * c.pageSize)
	if cap(c.buf) < size {
		c.buf = make([]byte, size)
	}
	c.buf = c.buf[:size]
	got, err := c.r.ReadAt(c.buf, int64(id*c.pageSize))
	if err := readErr(err); err != nil {
		return nil, err
	}
	if got < size {
		return nil, fmt.Errorf("page %d: the file ends inside it", id)
	}
	return c.buf, nil
}

// freelist checks the free list page: its ids lie within the page and
// each names a page that can be allocated.
func (c *fileChecker) freelist(id uint64) error {
	p, flags, count, err := c.page(id, "the free list")
	if err != nil {
		return err
	}
	if flags != freelistPageFlag {
		return fmt.Errorf("page %d: the free list is a page of type %#x", id, flags)
	}
	start, n := uint64(pageHeaderSize), uint64(count)
	if count == 0xFFFF {
		// A long list keeps its length in its first element.
		n = byteOrder.Uint64(p[start:])
		start += 8
	}
	if n > (uint64(len(p))-start)/8 {
		return fmt.Errorf("page %d: the free list says %d ids, its pages hold at most %d", id, n, (uint64(len(p))-start)/8)
	}
	for i := range n {
		if free := byteOrder.Uint64(p[start+8*i:]); free < 2 || free >= c.pgid {
			return fmt.Errorf("page %d: the free list names page %d, outside [2, %d)", id, free, c.pgid)
		}
	}
	return nil
}

// treeRef is a page to visit, with the key its parent's branch element
// holds for it (nil for a bucket's root).
type treeRef struct {
	id    uint64
	first []byte
}

// tree walks every page reachable from the root bucket's page, and the
// pages of every bucket in it, without recursion: a bucket's root is
// pushed like a child page. Keys must rise strictly within a page, and a
// page must begin with the key its parent's element holds for it: bbolt's
// own check allows a smaller parent key, but bbolt's writer finds a child
// in its parent by that key, and a mismatch makes it keep the old page
// referenced and free it too.
func (c *fileChecker) tree(root uint64) error {
	stack := []treeRef{{id: root}}
	for len(stack) > 0 {
		ref := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		p, flags, count, err := c.page(ref.id, "a tree page")
		if err != nil {
			return err
		}
		var first []byte
		switch flags {
		case branchPageFlag:
			if count == 0 {
				return fmt.Errorf("page %d: a branch page without elements", ref.id)
			}
			var prev []byte
			for i := range uint64(count) {
				e, err := element(p, i)
				if err != nil {
					return fmt.Errorf("page %d: %w", ref.id, err)
				}
				pos, ksize, child := uint64(byteOrder.Uint32(e)), uint64(byteOrder.Uint32(e[4:])), byteOrder.Uint64(e[8:])
				key, _, err := within(p, i, pos, ksize, 0)
				if err == nil && i > 0 && bytes.Compare(prev, key) >= 0 {
					err = fmt.Errorf("element %d: key %q does not follow %q", i, key, prev)
				}
				if err != nil {
					return fmt.Errorf("page %d: %w", ref.id, err)
				}
				prev = bytes.Clone(key)
				stack = append(stack, treeRef{id: child, first: prev})
				if i == 0 {
					first = prev
				}
			}
		case leafPageFlag:
			roots, key, err := leaf(p, count, true)
			if err != nil {
				return fmt.Errorf("page %d: %w", ref.id, err)
			}
			for _, root := range roots {
				stack = append(stack, treeRef{id: root})
			}
			first = key
		default:
			return fmt.Errorf("page %d: a page of type %#x where the tree needs a branch or a leaf", ref.id, flags)
		}
		if ref.first != nil && !bytes.Equal(first, ref.first) {
			return fmt.Errorf("page %d begins with key %q, its parent's element says %q", ref.id, first, ref.first)
		}
	}
	return nil
}

// leaf checks the elements of a leaf page p (a whole page, or an inline
// bucket's), their keys rising strictly, and returns the root pages of the
// buckets it holds and its first key. Inline pages hold no buckets: bbolt
// inlines only buckets without sub-buckets.
func leaf(p []byte, count uint16, buckets bool) ([]uint64, []byte, error) {
	var roots []uint64
	var first, prev []byte
	for i := range uint64(count) {
		e, err := element(p, i)
		if err != nil {
			return nil, nil, err
		}
		flags := byteOrder.Uint32(e)
		pos, ksize, vsize := uint64(byteOrder.Uint32(e[4:])), uint64(byteOrder.Uint32(e[8:])), uint64(byteOrder.Uint32(e[12:]))
		key, v, err := within(p, i, pos, ksize, vsize)
		if err != nil {
			return nil, nil, err
		}
		if i == 0 {
			first = bytes.Clone(key)
		} else if bytes.Compare(prev, key) >= 0 {
			return nil, nil, fmt.Errorf("element %d: key %q does not follow %q", i, key, prev)
		}
		prev = key
		switch {
		case flags == 0:
			continue
		case flags != bucketLeafFlag || !buckets:
			return nil, nil, fmt.Errorf("element %d: flags %#x", i, flags)
		}
		root, err := bucketValue(v)
		if err != nil {
			return nil, nil, fmt.Errorf("element %d: %w", i, err)
		}
		if root != 0 {
			roots = append(roots, root)
		}
	}
	return roots, first, nil
}

// bucketValue checks a bucket's value: a header naming its root page, or
// a zero root followed by the bucket's inline leaf page.
func bucketValue(v []byte) (uint64, error) {
	if len(v) < bucketHeaderSize {
		return 0, fmt.Errorf("a bucket value of %d bytes", len(v))
	}
	if root := byteOrder.Uint64(v); root != 0 {
		if len(v) != bucketHeaderSize {
			return 0, fmt.Errorf("a bucket value of %d bytes with a root page", len(v))
		}
		return root, nil
	}
	inline := v[bucketHeaderSize:]
	if len(inline) < pageHeaderSize {
		return 0, fmt.Errorf("an inline bucket of %d bytes", len(inline))
	}
	if flags := byteOrder.Uint16(inline[8:]); flags != leafPageFlag {
		return 0, fmt.Errorf("an inline bucket page of type %#x", flags)
	}
	if _, _, err := leaf(inline, byteOrder.Uint16(inline[10:]), false); err != nil {
		return 0, fmt.Errorf("inline bucket: %w", err)
	}
	return 0, nil
}

// element returns element i of page p.
func element(p []byte, i uint64) ([]byte, error) {
	off := pageHeaderSize + i*elementSize
	if off+elementSize > uint64(len(p)) {
		return nil, fmt.Errorf("element %d lies past the page's end", i)
	}
	return p[off : off+elementSize], nil
}

// within checks that element i's key (and value) lie within p, pos being
// relative to the element as bbolt stores it, and returns them.
func within(p []byte, i, pos, ksize, vsize uint64) ([]byte, []byte, error) {
	start := pageHeaderSize + i*elementSize + pos
	end := start + ksize + vsize // each term below 2^33: no overflow
	switch {
	case ksize == 0:
		return nil, nil, fmt.Errorf("element %d has an empty key", i)
	case end > uint64(len(p)):
		return nil, nil, fmt.Errorf("element %d: its key and value end at byte %d of a %d-byte page", i, end, len(p))
	}
	return p[start : start+ksize], p[start+ksize : end], nil
}

// readErr lets a short read through (the callers check lengths) and
// returns any other read error, which is the file system's.
func readErr(err error) error {
	if err == nil || errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// isReadErr reports whether err is the file system's (a failed read)
// rather than a judgement on the file's contents.
func isReadErr(err error) bool {
	var pathErr *fs.PathError
	return errors.As(err, &pathErr)
}

// saturatingMul is a*b, or the largest uint64 when that overflows.
func saturatingMul(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	if hi != 0 {
		return ^uint64(0)
	}
	return lo
}
