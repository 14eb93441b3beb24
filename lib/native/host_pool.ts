// The CPU allocator's pool: disposed host arrays wait here, by length, for the next allocation of
// that length, so a training step allocates no large arrays once warm (the CUDA allocator keeps a
// native cache of device blocks for the same reason).

const POOL_MAX_BYTES = 512 * 1024 * 1024;
const POOL_MIN_ELEMS = 64; // tiny arrays are cheaper to allocate than to look up

class HostPool {
  private readonly f32 = new Map<number, Float32Array[]>();
  private readonly i32 = new Map<number, Int32Array[]>();
  /** Bytes waiting in the pool. */
  bytes = 0;

  alloc(dtype: 'float32' | 'int32', size: number): Float32Array | Int32Array {
    if (size >= POOL_MIN_ELEMS) {
      const b = (dtype === 'float32' ? this.f32 : this.i32).get(size)?.pop();
      if (b) {
        this.bytes -= b.byteLength;
        return b;
      }
    }
    return dtype === 'float32' ? new Float32Array(size) : new Int32Array(size);
  }

  release(buf: Float32Array | Int32Array): void {
    if (buf.length < POOL_MIN_ELEMS || this.bytes + buf.byteLength > POOL_MAX_BYTES) return;
    const map = (buf instanceof Float32Array ? this.f32 : this.i32) as Map<number, (Float32Array | Int32Array)[]>;
    let list = map.get(buf.length);
    if (!list) map.set(buf.length, (list = []));
    list.push(buf);
    this.bytes += buf.byteLength;
  }

  /** Empties the pool (its memory goes back to the garbage collector). */
  clear(): void {
    this.f32.clear();
    this.i32.clear();
    this.bytes = 0;
  }
}

export const hostPool = new HostPool();
