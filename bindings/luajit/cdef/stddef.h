/* Empty on purpose: LuaJIT's ffi knows bool, size_t and the <stdint.h> types. */
