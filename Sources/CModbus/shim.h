#ifndef WAYSTATION_CMODBUS_SHIM_H
#define WAYSTATION_CMODBUS_SHIM_H

#include <modbus/modbus.h>
#include <errno.h>
#include <termios.h>

/* libmodbus's error codes are macros built from arithmetic on MODBUS_ENOBASE, which Swift does not
 * import. Re-export them as constants. */
static const int WS_MODBUS_ENOBASE = MODBUS_ENOBASE;
static const int WS_EMBXILFUN = EMBXILFUN;
static const int WS_EMBXILADD = EMBXILADD;
static const int WS_EMBXILVAL = EMBXILVAL;
static const int WS_EMBXSFAIL = EMBXSFAIL;
static const int WS_EMBXACK = EMBXACK;
static const int WS_EMBXSBUSY = EMBXSBUSY;
static const int WS_EMBXNACK = EMBXNACK;
static const int WS_EMBXMEMPAR = EMBXMEMPAR;
static const int WS_EMBXGPATH = EMBXGPATH;
static const int WS_EMBXGTAR = EMBXGTAR;
static const int WS_EMBBADCRC = EMBBADCRC;
static const int WS_EMBBADDATA = EMBBADDATA;
static const int WS_EMBBADEXC = EMBBADEXC;
static const int WS_EMBUNKEXC = EMBUNKEXC;
static const int WS_EMBMDATA = EMBMDATA;
static const int WS_EMBBADSLAVE = EMBBADSLAVE;

static const int WS_MODBUS_TCP_MAX_ADU_LENGTH = MODBUS_TCP_MAX_ADU_LENGTH;
static const int WS_MODBUS_RTU_MAX_ADU_LENGTH = MODBUS_RTU_MAX_ADU_LENGTH;
static const int WS_MODBUS_MAX_READ_REGISTERS = MODBUS_MAX_READ_REGISTERS;
static const int WS_MODBUS_MAX_READ_BITS = MODBUS_MAX_READ_BITS;
static const int WS_MODBUS_RTU_RS485 = MODBUS_RTU_RS485;

/* errno is a macro over a thread-local; read it right after the failed call. */
static inline int ws_errno(void) { return errno; }
static inline void ws_set_errno(int value) { errno = value; }

#endif
