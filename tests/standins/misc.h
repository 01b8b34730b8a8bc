/* misc.h - the small modes: gui, idle and tcp-sink */
#ifndef STANDIN_MISC_H
#define STANDIN_MISC_H

int gui_main(void);
int idle_main(void);
int apm_main(void);
int tcp_sink_main(void);

#endif
