# Sourced by the scripts that run Windows programs here under Wine (scripts/test-c-abi.sh,
# scripts/test-platforms.sh). Defines:
#
#   wine_setup PREFIX PROGRAM_DIR
#     sets WINE (the wine64 launcher) and exports WINEPREFIX=PREFIX, WINEARCH=win64, WINEDEBUG=-all
#     and WINEDLLOVERRIDES (no Mono or Gecko prompts); creates the prefix on first use (slow); and,
#     when this Wine lacks bcryptprimitives.dll, puts a stand-in next to the program in PROGRAM_DIR.
#
# Rust's std imports ProcessPrng from bcryptprimitives.dll, a system DLL of Windows 10 and later
# that Wine gained only in 8.13 (Debian 12 has 8.0). The stand-in answers ProcessPrng with
# advapi32's RtlGenRandom (SystemFunction036); it is for Wine alone and never shipped.

WINE=
wine_setup() { # prefix program-dir
  WINE=$(command -v wine64 || { [ -x /usr/lib/wine/wine64 ] && echo /usr/lib/wine/wine64; } || command -v wine) || return 1
  export WINEDEBUG=-all WINEPREFIX=$1 WINEDLLOVERRIDES='mscoree,mshtml=' WINEARCH=win64
  if [ ! -f "$WINEPREFIX/system.reg" ]; then
    echo "wine: creating the prefix $WINEPREFIX (first start, slow)" >&2
    "$WINE" wineboot --init >/dev/null 2>&1
    wineserver -w 2>/dev/null
  fi
  if [ ! -e "$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll" ]; then
    echo "wine: this Wine lacks bcryptprimitives.dll; using a stand-in for ProcessPrng" >&2
    cat >"$2/bcryptprimitives_shim.c" <<'SHIM'
#include <windows.h>
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length); /* RtlGenRandom */
__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length) {
  while (length > 0) {
    ULONG chunk = length > 0x10000000 ? 0x10000000 : (ULONG)length;
    if (!SystemFunction036(data, chunk)) return FALSE;
    data += chunk;
    length -= chunk;
  }
  return TRUE;
}
SHIM
    x86_64-w64-mingw32-gcc -O2 -shared -o "$2/bcryptprimitives.dll" "$2/bcryptprimitives_shim.c" -ladvapi32 || return 1
    rm -f "$2/bcryptprimitives_shim.c"
  else
    rm -f "$2/bcryptprimitives.dll" "$2/bcryptprimitives_shim.c"
  fi
}
