/*
 * scsi_impl: what scsi.c and scsi_info.c share.  Not for other modules.
 */
#ifndef VTOKEN_SCSI_IMPL_H
#define VTOKEN_SCSI_IMPL_H

#include "server/scsi.h"

void scsi_good(struct scsi_lun *lun, struct scsi_cmd *cmd);
/* Plans an IN response of len bytes from cmd->buf, cut to alloc. */
void scsi_reply(struct scsi_cmd *cmd, size_t len, uint32_t alloc);
/* True (after setting NOT READY sense) when the medium is unloaded. */
bool scsi_not_ready(struct scsi_lun *lun, struct scsi_cmd *cmd);

void scsi_inquiry(struct scsi_lun *lun, struct scsi_cmd *cmd);
void scsi_request_sense(struct scsi_lun *lun, struct scsi_cmd *cmd);
void scsi_mode_sense(struct scsi_lun *lun, struct scsi_cmd *cmd);
void scsi_read_capacity10(struct scsi_lun *lun, struct scsi_cmd *cmd);
void scsi_read_capacity16(struct scsi_lun *lun, struct scsi_cmd *cmd);
void scsi_read_format_capacities(struct scsi_lun *lun, struct scsi_cmd *cmd);
void scsi_report_luns(struct scsi_lun *lun, struct scsi_cmd *cmd);

#endif
