# Writes OUT, a C file defining tracup_edge_template[] with the bytes of IN.
file(READ ${IN} hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
file(WRITE ${OUT} "/* Generated from templates/edge.conf.in; do not edit. */\n"
  "extern const char tracup_edge_template[];\n"
  "const char tracup_edge_template[] = {${bytes} 0x00};\n")
